"""Alembic migrations: the schema's history (`open311 db upgrade` applies them)."""
