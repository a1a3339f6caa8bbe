"""Messaging pages: templates, bulk sends, the outbox, a task's message, and messaging settings."""
