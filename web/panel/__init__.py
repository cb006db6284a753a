"""Panel domain."""
