"""The searchable archive of projects (see the archive issue)."""
