"""Alembic environment: runs migrations on the connection or URL given by open311.storage.schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from open311.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    """Run migrations on one connection (batch mode on SQLite, which cannot ALTER much)."""
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("open311 migrations run through open311.storage.schema (open311 db upgrade)")
run(connection)
