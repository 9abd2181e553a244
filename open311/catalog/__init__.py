"""The service catalog: service definitions, their checks, answer validation and translations."""
