"""jurisdictions.yaml: jurisdictions, departments, adapters, GIS layers and area rules, checked with file:line."""
