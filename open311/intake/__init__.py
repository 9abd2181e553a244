"""POST service requests: fields, location and area check, duplicates, storing; API keys, moderation, retention."""
