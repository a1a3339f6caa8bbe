"""The loyalty programme editor and its history."""
