"""Studies domain."""
