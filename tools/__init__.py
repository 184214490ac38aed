"""Repository maintenance scripts (not part of the installed package)."""
