"""Platform-wide operations: health."""
