"""The database: models, engines and the transaction helpers, schema management and migrations."""
