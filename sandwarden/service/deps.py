"""
The ports a service talks to, bundled once by the composition root.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandwarden.ports import (
    Alert,
    Alerts,
    Clock,
    Host,
    SandboxRuntime,
    StateStore,
)
from sandwarden.service.config import WardenConfig
from sandwarden.service.journal import Journal, Topic

__all__ = ["Deps"]


@dataclass(frozen=True, slots=True)
class Deps:
    """Everything a service needs from the world, and its configuration."""

    runtime: SandboxRuntime
    clock: Clock
    store: StateStore
    host: Host
    alerts: Alerts
    journal: Journal
    config: WardenConfig

    def note(
        self,
        topic: Topic,
        message: str,
        **data: str | int | float | bool | None,
    ) -> None:
        """Write a note stamped with the clock's wall time."""
        self.journal.write(self.clock.time(), topic, message, **data)

    def alert(self, alert: Alert) -> None:
        """Deliver an alert and note it."""
        self.alerts.alert(alert)
        self.note(
            Topic.ALERT,
            f"{alert.level}: {alert.message}",
            code=alert.code,
            action=alert.action,
            sandbox=alert.sandbox,
        )
