"""emotions package."""
