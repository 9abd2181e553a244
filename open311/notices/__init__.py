"""Notices to residents at their request's milestones (docs/notifications.md): who asked, what is owed, links."""
