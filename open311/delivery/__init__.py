"""Leaving for a department and coming back: outbox, relay, background workers, status sync and recording."""
