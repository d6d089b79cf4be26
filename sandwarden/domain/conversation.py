"""
A conversation: which sandbox holds it and the session id to resume.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandwarden.domain.values import SandboxName, SessionId

__all__ = ["Conversation"]


@dataclass(frozen=True, slots=True)
class Conversation:
    """
    The stored state of one conversation, keyed by the caller's name.

    A session id belongs to the sandbox that created it: sessions live
    inside the sandbox and are lost when it is removed.
    """

    key: str
    sandbox: SandboxName
    session_id: SessionId
    last_used: float
    turns: int = 1
