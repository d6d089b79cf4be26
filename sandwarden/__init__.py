"""
Keeps Claude Code running unattended in Docker sandboxes.

Build a warden from settings with ``bootstrap``, then ask::

    from sandwarden import SyncWarden, bootstrap, load_settings

    settings = load_settings(os.environ, {}, os.getcwd(), home).unwrap()
    with SyncWarden(bootstrap(settings).unwrap()) as warden:
        reply = warden.ask("What changed today?", conversation="chat-1")

Every call returns a ``returns`` ``Result`` whose failure is a
``WardenError`` with a stable ``kind``.
"""

from sandwarden.adapters.alerts import CallbackAlerts, LoggingAlerts
from sandwarden.adapters.docker_sandbox import DockerSandboxCli
from sandwarden.adapters.sbx import SbxCli
from sandwarden.bootstrap import bootstrap
from sandwarden.domain.auth import AuthStatus
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
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
