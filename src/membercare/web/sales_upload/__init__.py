"""Offline stores' sales upload."""
