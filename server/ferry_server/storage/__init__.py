"""Bytes on disk: staging files and published files."""
