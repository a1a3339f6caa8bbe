"""Members pages: the counter search, the member list, a member's profile and form, import/export, staff."""
