"""
Keeps Claude Code running unattended in Docker sandboxes.

Build a warden from settings with ``bootstrap``, then ask::

    from sandwarden import SyncWarden, bootstrap, load_settings

    settings = load_settings(os.environ, {}, os.getcwd(), home).unwrap()
    with SyncWarden(bootstrap(settings).unwrap()) as warden:
        reply = warden.ask("What changed today?", conversation="chat-1")

Every call returns a ``returns`` ``Result`` whose failure is a
``WardenError`` with a stable ``kind``.

The public names are imported on first use: importing one corner of the
package (the stream decoder, say) does not load the adapters, SQLite,
asyncio and the simulator behind the rest.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandwarden.adapters.alerts import CallbackAlerts, LoggingAlerts
    from sandwarden.adapters.docker_sandbox import DockerSandboxCli
    from sandwarden.adapters.sbx import SbxCli
    from sandwarden.bootstrap import bootstrap
    from sandwarden.domain.auth import AuthStatus
    from sandwarden.domain.errors import (
        ErrorKind,
        UnavailableReason,
        WardenError,
    )
    from sandwarden.domain.parity import Parity, ParityVerdict
    from sandwarden.domain.reply import Outcome, Reply
    from sandwarden.domain.values import (
        ImageTag,
        SandboxName,
        SessionId,
        Workspace,
    )
    from sandwarden.ports import Alert, AlertLevel
    from sandwarden.service.backups import (
        Backup,
        CreatedBackup,
        Pruned,
        Restored,
    )
    from sandwarden.service.doctor import CheckStatus, Finding
    from sandwarden.service.doctor import Report as DoctorReport
    from sandwarden.service.heal import HealReport
    from sandwarden.service.journal import Note, Topic
    from sandwarden.service.probe import Health
    from sandwarden.service.templates import (
        RolledBack,
        SavedTemplate,
        TemplateState,
    )
    from sandwarden.settings import Settings, load_settings
    from sandwarden.warden import Status, SyncWarden, Warden

__version__ = "0.1.0"

__all__ = [
    "Alert",
    "AlertLevel",
    "AuthStatus",
    "Backup",
    "CallbackAlerts",
    "CheckStatus",
    "CreatedBackup",
    "DockerSandboxCli",
    "DoctorReport",
    "ErrorKind",
    "Finding",
    "HealReport",
    "Health",
    "ImageTag",
    "LoggingAlerts",
    "Note",
    "Outcome",
    "Parity",
    "ParityVerdict",
    "Pruned",
    "Reply",
    "Restored",
    "RolledBack",
    "SandboxName",
    "SavedTemplate",
    "SbxCli",
    "SessionId",
    "Settings",
    "Status",
    "SyncWarden",
    "TemplateState",
    "Topic",
    "UnavailableReason",
    "Warden",
    "WardenError",
    "Workspace",
    "__version__",
    "bootstrap",
    "load_settings",
]

# Each public name: the module that defines it, and its name there when
# the public one differs.
_HOMES: dict[str, tuple[str, str]] = {
    "Alert": ("sandwarden.ports", "Alert"),
    "AlertLevel": ("sandwarden.ports", "AlertLevel"),
    "AuthStatus": ("sandwarden.domain.auth", "AuthStatus"),
    "Backup": ("sandwarden.service.backups", "Backup"),
    "CallbackAlerts": ("sandwarden.adapters.alerts", "CallbackAlerts"),
    "CheckStatus": ("sandwarden.service.doctor", "CheckStatus"),
    "CreatedBackup": ("sandwarden.service.backups", "CreatedBackup"),
    "DockerSandboxCli": (
        "sandwarden.adapters.docker_sandbox",
        "DockerSandboxCli",
    ),
    "DoctorReport": ("sandwarden.service.doctor", "Report"),
    "ErrorKind": ("sandwarden.domain.errors", "ErrorKind"),
    "Finding": ("sandwarden.service.doctor", "Finding"),
    "HealReport": ("sandwarden.service.heal", "HealReport"),
    "Health": ("sandwarden.service.probe", "Health"),
    "ImageTag": ("sandwarden.domain.values", "ImageTag"),
    "LoggingAlerts": ("sandwarden.adapters.alerts", "LoggingAlerts"),
    "Note": ("sandwarden.service.journal", "Note"),
    "Outcome": ("sandwarden.domain.reply", "Outcome"),
    "Parity": ("sandwarden.domain.parity", "Parity"),
    "ParityVerdict": ("sandwarden.domain.parity", "ParityVerdict"),
    "Pruned": ("sandwarden.service.backups", "Pruned"),
    "Reply": ("sandwarden.domain.reply", "Reply"),
    "Restored": ("sandwarden.service.backups", "Restored"),
    "RolledBack": ("sandwarden.service.templates", "RolledBack"),
    "SandboxName": ("sandwarden.domain.values", "SandboxName"),
    "SavedTemplate": ("sandwarden.service.templates", "SavedTemplate"),
    "SbxCli": ("sandwarden.adapters.sbx", "SbxCli"),
    "SessionId": ("sandwarden.domain.values", "SessionId"),
    "Settings": ("sandwarden.settings", "Settings"),
    "Status": ("sandwarden.warden", "Status"),
    "SyncWarden": ("sandwarden.warden", "SyncWarden"),
    "TemplateState": ("sandwarden.service.templates", "TemplateState"),
    "Topic": ("sandwarden.service.journal", "Topic"),
    "UnavailableReason": ("sandwarden.domain.errors", "UnavailableReason"),
    "Warden": ("sandwarden.warden", "Warden"),
    "WardenError": ("sandwarden.domain.errors", "WardenError"),
    "Workspace": ("sandwarden.domain.values", "Workspace"),
    "bootstrap": ("sandwarden.bootstrap", "bootstrap"),
    "load_settings": ("sandwarden.settings", "load_settings"),
}


def __getattr__(name: str) -> object:
    """Import a public name on first use, then keep it in the module."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sandwarden' has no attribute {name!r}")
    module, attribute = home
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value

    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """
    This package, keeping its public names over same-named submodules.

    Importing a submodule binds it on its package, and ``bootstrap`` is
    both a submodule and a public function: the function must win, as it
    did when the names were imported eagerly.
    """

    def __setattr__(self, name: str, value: object) -> None:
        home = _HOMES.get(name)
        if isinstance(value, types.ModuleType) and home is not None:
            module, attribute = home
            if value.__name__ == module:
                value = getattr(value, attribute)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
