"""Built-in back-office adapters, installed under the import name `open311_adapters`."""
