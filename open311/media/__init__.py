"""Photos: checked by content, stripped and re-encoded (photos), taken with a POST (uploads), kept (store)."""
