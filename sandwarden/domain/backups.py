"""
Template backups as files: their names, their manifests, their rotation.

A backup of ``repo:tag`` taken at an instant is named
``<repo>__<tag>_<UTC %Y%m%dT%H%M%SZ>.tar``, as the specification does;
``/`` and ``:`` in the repository become ``%2F`` and ``%3A`` so that
the name is one file name, and a ``__`` inside the repository becomes
``%5F%5F`` so that the first ``__`` always ends the repository. Beside it
live ``<repo>__<tag>_latest.tar`` (a link to the newest backup), the
manifest ``<backup>.manifest.json`` and, while it is written, the
temporary ``.<backup>.partial``: none of them is a backup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.values import ImageTag

__all__ = [
    "BackupName",
    "Manifest",
    "RotationPlan",
    "backup_name",
    "latest_link_name",
    "manifest_name",
    "parse_backup_name",
    "rotation_plan",
    "temporary_name",
]

_STAMP = "%Y%m%dT%H%M%SZ"
_BACKUP = re.compile(r"(?P<repo>.+?)__(?P<tag>.+)_(?P<at>\d{8}T\d{6}Z)\.tar")
_MANIFEST_SUFFIX = ".manifest.json"
_MANIFEST_VERSION = 1
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Order matters: "%" never occurs in a repository, so decoding is exact.
_ESCAPES = (("/", "%2F"), (":", "%3A"), ("__", "%5F%5F"))


@dataclass(frozen=True, slots=True, order=True)
class BackupName:
    """A backup file's name, read: which template, taken when (UTC)."""

    created_at: float
    template: ImageTag
    file: str


def backup_name(template: ImageTag, at: float) -> str:
    """
    The file name of a backup of ``template`` taken at ``at``.

    Whole seconds, as the specification's timestamp: two backups of one
    template within a second share a name, and the second must wait.
    """
    stamp = datetime.fromtimestamp(at, UTC).strftime(_STAMP)
    return f"{_prefix(template)}_{stamp}.tar"


def latest_link_name(template: ImageTag) -> str:
    """The name of the link to the newest backup of ``template``."""
    return f"{_prefix(template)}_latest.tar"


def manifest_name(backup: str) -> str:
    """The name of the manifest that describes the file ``backup``."""
    return f"{backup}{_MANIFEST_SUFFIX}"


def temporary_name(backup: str) -> str:
    """The name a backup is written under before it is complete."""
    return f".{backup}.partial"


def parse_backup_name(name: str) -> Result[BackupName, WardenError]:
    """Read a backup's file name; refuse anything that is not one."""
    match = _BACKUP.fullmatch(name)
    if match is None:
        return Failure(
            WardenError.invalid(
                f"{name!r} is not a backup name; expected "
                "'<repository>__<tag>_<YYYYmmddTHHMMSSZ>.tar'",
            ),
        )
    try:
        at = datetime.strptime(match["at"], _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return Failure(
            WardenError.invalid(
                f"{name!r} has an impossible timestamp {match['at']!r}",
            ),
        )
    repository = _decode(match["repo"])
    parsed = ImageTag.parse(f"{repository}:{match['tag']}")
    if not is_successful(parsed):
        return Failure(
            WardenError.invalid(
                f"{name!r} does not name an image: {parsed.failure().message}",
            ),
        )
    template = parsed.unwrap()
    canonical = backup_name(template, at.timestamp())
    if canonical != name:
        return Failure(
            WardenError.invalid(
                f"{name!r} is not how sandwarden names a backup of "
                f"{template}; expected {canonical!r}",
            ),
        )

    return Success(BackupName(at.timestamp(), template, name))


@dataclass(frozen=True, slots=True)
class RotationPlan:
    """
    What a rotation keeps and deletes, and what it left alone.

    ``delete`` holds backups and their manifests; ``ignored`` holds every
    name that is not a backup (links, manifests, temporaries, strangers).
    """

    keep: tuple[str, ...]
    delete: tuple[str, ...]
    ignored: tuple[str, ...]


def rotation_plan(
    names: Sequence[str],
    keep: int,
    *,
    verified: Collection[str] | None = None,
) -> RotationPlan:
    """
    Keep the newest ``keep`` backups of each template; delete the rest.

    The newest backup of a template is never deleted, even with ``keep``
    below 1. With ``verified`` (the backups whose manifest checked out),
    the newest verified backup of each template is kept as well, so that
    a corrupt newest backup never leaves no good one behind.
    """
    present = set(names)
    groups: dict[ImageTag, list[BackupName]] = {}
    ignored: list[str] = []
    for name in names:
        parsed = parse_backup_name(name)
        if is_successful(parsed):
            backup = parsed.unwrap()
            groups.setdefault(backup.template, []).append(backup)
        else:
            ignored.append(name)

    kept: list[str] = []
    deleted: list[str] = []
    for backups in groups.values():
        newest_first = sorted(backups, reverse=True)
        chosen = {b.file for b in newest_first[: max(1, keep)]}
        if verified is not None:
            good = [b.file for b in newest_first if b.file in verified]
            chosen.update(good[:1])
        for backup in newest_first:
            if backup.file in chosen:
                kept.append(backup.file)
                continue
            deleted.append(backup.file)
            manifest = manifest_name(backup.file)
            if manifest in present:
                deleted.append(manifest)
    dropped = set(deleted)

    return RotationPlan(
        keep=tuple(sorted(kept)),
        delete=tuple(deleted),
        ignored=tuple(n for n in ignored if n not in dropped),
    )


@dataclass(frozen=True, slots=True)
class Manifest:
    """
    What a backup should be: written beside it, checked before a restore.

    ``tool`` names the sandbox tool and version that saved the template.
    """

    file: str
    template: ImageTag
    created_at: float
    size: int
    sha256: str
    tool: str

    def to_json(self) -> str:
        """Serialise for the manifest file."""
        raw = asdict(self)
        raw["template"] = str(self.template)
        raw["version"] = _MANIFEST_VERSION
        return json.dumps(raw, sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Result[Manifest, WardenError]:
        """Read a manifest; refuse anything ``to_json`` would not write."""
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                msg = "expected a JSON object"
                raise TypeError(msg)
            if raw.get("version") != _MANIFEST_VERSION:
                msg = f"unknown manifest version {raw.get('version')!r}"
                raise ValueError(msg)
            template = ImageTag.parse(_text(raw["template"]))
            if not is_successful(template):
                raise ValueError(template.failure().message)
            manifest = cls(
                file=_text(raw["file"]),
                template=template.unwrap(),
                created_at=_number(raw["created_at"]),
                size=_size(raw["size"]),
                sha256=_digest(raw["sha256"]),
                tool=_text(raw["tool"]),
            )
        except (ValueError, TypeError, KeyError) as error:
            return Failure(
                WardenError.invalid(
                    f"backup manifest is unreadable ({error}); expected "
                    "the JSON object Manifest.to_json writes",
                ),
            )

        return Success(manifest)

    def verify(self, size: int, sha256: str) -> Result[None, WardenError]:
        """Check a file's measured size and digest against the manifest."""
        if size != self.size:
            return Failure(
                WardenError(
                    ErrorKind.STORAGE,
                    f"backup {self.file} is {size} bytes, its manifest "
                    f"says {self.size}; the file is truncated or replaced",
                ),
            )
        if sha256.lower() != self.sha256:
            return Failure(
                WardenError(
                    ErrorKind.STORAGE,
                    f"backup {self.file} does not match its manifest's "
                    "SHA-256; the file is corrupt or replaced",
                    detail=f"expected {self.sha256}, got {sha256}",
                ),
            )

        return Success(None)


def _prefix(template: ImageTag) -> str:
    repository = template.repository
    for raw, escaped in _ESCAPES:
        repository = repository.replace(raw, escaped)

    return f"{repository}__{template.tag}"


def _decode(repository: str) -> str:
    for raw, escaped in reversed(_ESCAPES):
        repository = repository.replace(escaped, raw)

    return repository


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        msg = f"expected a non-empty string, got {value!r}"
        raise TypeError(msg)

    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"expected a number, got {value!r}"
        raise TypeError(msg)

    return float(value)


def _size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"expected a size in bytes, got {value!r}"
        raise TypeError(msg)

    return value


def _digest(value: object) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        msg = f"expected 64 lower-case hex digits, got {value!r}"
        raise ValueError(msg)

    return value
