"""
``RecordingAlerts``: the ``Alerts`` port as a list and the event log.
"""

from __future__ import annotations

from sandwarden.ports import Alert, Clock
from sandwarden.simulator.world import World

__all__ = ["RecordingAlerts"]


class RecordingAlerts:
    """Keeps every alert, in order, and logs it in the world's events."""

    def __init__(self, world: World, clock: Clock) -> None:
        self.alerts: list[Alert] = []
        self._world = world
        self._clock = clock

    def alert(self, alert: Alert) -> None:
        """Record one alert."""
        self.alerts.append(alert)
        where = f" [{alert.sandbox}]" if alert.sandbox else ""
        self._world.record(
            self._clock.monotonic(),
            "alert",
            f"{alert.level} {alert.code}{where}: {alert.message}",
        )
