"""Keeps Claude Code running unattended in Docker sandboxes."""

__all__: list[str] = []
