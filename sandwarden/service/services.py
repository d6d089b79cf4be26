"""
The services, wired to one another over one set of ports.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandwarden.service.ask import Asker
from sandwarden.service.backups import Backups
from sandwarden.service.deps import Deps
from sandwarden.service.doctor import Doctor
from sandwarden.service.heal import Healer
from sandwarden.service.probe import Prober
from sandwarden.service.templates import Templates
from sandwarden.service.watch import Watchdog

__all__ = ["Services"]


@dataclass(frozen=True, slots=True)
class Services:
    """
    Probe, heal, ask, watch, templates, backups and the doctor.

    They share one probe cache and one heal lock.
    """

    deps: Deps
    prober: Prober
    healer: Healer
    asker: Asker
    watchdog: Watchdog
    templates: Templates
    backups: Backups
    doctor: Doctor

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
            templates=Templates(deps, prober),
            backups=Backups(
                deps,
                prober,
                directory=deps.config.backup_dir,
                keep=deps.config.backup_keep,
            ),
            doctor=Doctor(
                deps,
                prober,
                backup_dir=deps.config.backup_dir or None,
            ),
        )
