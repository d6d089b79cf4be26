"""
Validated values: sandbox names, workspaces, image tags, session ids.

Each constructor is a ``parse`` class method returning a ``Result``; the
failure names the value and says what was expected. Once built, a value
is known to be well formed.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import WardenError

__all__ = ["ImageTag", "SandboxName", "SessionId", "Workspace"]

# The plugin documents "letters, numbers, hyphens, underscores, periods,
# plus signs and minus signs"; 63 keeps a name usable as a host name and
# short enough for the socket paths the plugin derives from it
# (docker/desktop-feedback#208: long names break `bind`).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
_NAME_MAX = 63

# name[:tag]: lower-case path components, optional registry with a port,
# tag of up to 128 characters, as Docker's reference grammar says.
_REPO = re.compile(
    r"(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*",
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

_SESSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


@dataclass(frozen=True, slots=True, order=True)
class SandboxName:
    """A sandbox name the `docker sandbox` plugin accepts."""

    value: str

    @classmethod
    def parse(cls, raw: str) -> Result[SandboxName, WardenError]:
        """Accept a name of the plugin's characters, 1 to 63 long."""
        if not raw:
            return Failure(
                WardenError.invalid(
                    "sandbox name is empty; expected 1 to 63 letters, "
                    "digits, '-', '_', '.' or '+'",
                ),
            )
        if len(raw) > _NAME_MAX:
            return Failure(
                WardenError.invalid(
                    f"sandbox name {raw!r} is {len(raw)} characters; "
                    f"expected at most {_NAME_MAX}",
                ),
            )
        if not _NAME.fullmatch(raw):
            return Failure(
                WardenError.invalid(
                    f"sandbox name {raw!r} is not allowed; expected a "
                    "letter or digit first, then letters, digits, "
                    "'-', '_', '.' or '+'",
                ),
            )

        return Success(cls(raw))

    def heal(self) -> SandboxName:
        """Return the conventional name of this sandbox's heal sandbox."""
        base = self.value.removesuffix("-heal")[: _NAME_MAX - len("-heal")]
        return SandboxName(f"{base}-heal")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True, order=True)
class Workspace:
    """An absolute, lexically normalised host path mounted in a sandbox."""

    path: str

    @classmethod
    def parse(cls, raw: str) -> Result[Workspace, WardenError]:
        """Accept an absolute POSIX path; normalise `.`, `..` and `//`."""
        if not raw:
            return Failure(
                WardenError.invalid(
                    "workspace is empty; expected an absolute path",
                ),
            )
        if "\x00" in raw:
            return Failure(
                WardenError.invalid(
                    f"workspace {raw!r} contains a NUL byte; expected a path",
                ),
            )
        if not raw.startswith("/"):
            return Failure(
                WardenError.invalid(
                    f"workspace {raw!r} is relative; expected an absolute "
                    "path, the same one used at create and exec",
                ),
            )

        return Success(cls(_normal_path(raw)))

    def matches(self, listed: str, resolved: str | None = None) -> bool:
        """
        Tell whether a workspace a tool listed is this one.

        ``listed`` may carry a `:ro` suffix; ``resolved`` is this path with
        its symbolic links resolved, which a tool may list instead.
        """
        for suffix in (":ro", ":readonly"):
            listed = listed.removesuffix(suffix)
        if not listed.startswith("/"):
            return False
        accepted = {self.path}
        if resolved is not None and resolved.startswith("/"):
            accepted.add(_normal_path(resolved))

        return _normal_path(listed) in accepted

    def __str__(self) -> str:
        return self.path


def _normal_path(path: str) -> str:
    """Normalise an absolute path lexically: `.`, `..`, `//`, trailing `/`."""
    normal = posixpath.normpath(path)
    # POSIX keeps a leading '//' as implementation-defined; we do not.
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")

    return normal


@dataclass(frozen=True, slots=True, order=True)
class ImageTag:
    """An image reference ``repository[:tag]``; the tag defaults to latest."""

    repository: str
    tag: str = "latest"

    @classmethod
    def parse(cls, raw: str) -> Result[ImageTag, WardenError]:
        """Accept Docker's reference grammar, without a digest."""
        repository, tag = raw, "latest"
        last = raw.rsplit("/", 1)[-1]
        if ":" in last:
            repository, tag = raw.rsplit(":", 1)
        if not _REPO.fullmatch(repository) or len(repository) > 255:
            return Failure(
                WardenError.invalid(
                    f"image {raw!r} has an invalid repository; expected "
                    "lower-case name components such as "
                    "'sandwarden-auth:latest'",
                ),
            )
        if not _TAG.fullmatch(tag):
            return Failure(
                WardenError.invalid(
                    f"image {raw!r} has an invalid tag {tag!r}; expected "
                    "up to 128 letters, digits, '_', '.' or '-'",
                ),
            )

        return Success(cls(repository, tag))

    def with_tag(self, tag: str) -> ImageTag:
        """Return the same repository under another tag."""
        return ImageTag(self.repository, tag)

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True, slots=True, order=True)
class SessionId:
    """A Claude session id as the CLI printed it (usually a UUID)."""

    value: str

    @classmethod
    def parse(cls, raw: str) -> Result[SessionId, WardenError]:
        """Accept 1 to 128 safe characters, starting with a letter or digit."""
        if not _SESSION.fullmatch(raw):
            return Failure(
                WardenError.invalid(
                    f"session id {raw!r} is not usable; expected 1 to 128 "
                    "letters, digits, '-', '_', '.' or ':' (a UUID)",
                ),
            )

        return Success(cls(raw))

    def __str__(self) -> str:
        return self.value
