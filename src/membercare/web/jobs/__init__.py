"""A background job's progress page."""
