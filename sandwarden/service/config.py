"""
What the services need to know, gathered in one value.

``Settings`` (the operator's configuration) is turned into this by the
composition root; the services never read the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandwarden.domain.breaker import BreakerPolicy
from sandwarden.domain.deadlines import Limits
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

__all__ = ["WardenConfig"]


@dataclass(frozen=True, slots=True)
class WardenConfig:
    """
    The warden's knobs, with the specification's defaults.

    Durations are seconds. ``probe_cache`` is how long a healthy probe is
    trusted before a turn probes again; ``lock_ttl`` bounds how long a
    heal may hold the cross-process lock before another process may take
    it over. ``backup_dir`` holds template backups (empty: none kept).
    """

    sandbox: SandboxName
    workspace: Workspace
    template: ImageTag | None = None
    probe_limits: Limits = field(default_factory=lambda: Limits(30.0))
    prompt_limits: Limits = field(
        default_factory=lambda: Limits(3600.0, 600.0),
    )
    resume_limits: Limits = field(
        default_factory=lambda: Limits(3600.0, 600.0),
    )
    allow_api_key: bool = False
    self_heal: bool = True
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    watchdog_enabled: bool = True
    watchdog_interval: float = 300.0
    probe_cache: float = 30.0
    check_parity: bool = False
    model: str | None = None
    system_prompt: str | None = None
    partial_messages: bool = True
    lock_ttl: float = 900.0
    lock_poll: float = 1.0
    backup_dir: str = ""
    backup_keep: int = 14
