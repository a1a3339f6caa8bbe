"""Service pages: complaints, gift stock and gifts given, surveys."""
