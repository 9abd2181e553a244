"""The staff work queue: accounts, sessions, the audit log, the queue, a request's case file, staff actions."""
