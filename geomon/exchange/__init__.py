"""Exchange with other systems (issue 18): Cursor-on-Target for TAK."""
