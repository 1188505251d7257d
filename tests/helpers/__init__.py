"""Helpers shared by tests (auth users/tokens, listeners)."""
