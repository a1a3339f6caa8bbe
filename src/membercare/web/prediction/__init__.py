"""The member value prediction page and its recompute."""
