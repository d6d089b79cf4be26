"""
The services, wired to one another over one set of ports.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandwarden.service.ask import Asker
from sandwarden.service.deps import Deps
from sandwarden.service.heal import Healer
from sandwarden.service.probe import Prober
from sandwarden.service.watch import Watchdog

__all__ = ["Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """Probe, heal, ask and watch, sharing one probe cache and heal lock."""

    deps: Deps
    prober: Prober
    healer: Healer
    asker: Asker
    watchdog: Watchdog

    @classmethod
    def build(cls, deps: Deps) -> Services:
        """Wire the services over ``deps``."""
        prober = Prober(deps)
        healer = Healer(deps, prober)

        return cls(
            deps=deps,
            prober=prober,
            healer=healer,
            asker=Asker(deps, prober, healer),
            watchdog=Watchdog(deps, prober, healer),
        )
