"""The administrator's POS API keys: list, issue, revoke."""
