"""The error a user's settings raise, shared by every layer of longseq."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A config that cannot be used; the message is one line naming the key, value or file."""
