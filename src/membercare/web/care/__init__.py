"""Care pages: the clerk's tasks and contact log, the store manager's view, segments, settings, events."""
