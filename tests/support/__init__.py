"""Helpers shared by the test suites: databases, server processes, upload helpers."""
