"""
``SimulatedHost``: the ``Host`` port over the world's host side.

Git HEADs come from ``World.host_heads``; files, links and directories
live in ``World.files``, ``links`` and ``dirs``, so the tar files that
``SimulatedRuntime.image_export`` writes are there to size, hash, link,
rotate and load again.
"""

from __future__ import annotations

import hashlib
import posixpath

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.values import Workspace
from sandwarden.simulator.world import World

__all__ = ["SimulatedHost"]


class SimulatedHost:
    """The warden's machine, in the simulated world."""

    def __init__(self, world: World) -> None:
        self._world = world

    async def git_head(
        self,
        workspace: Workspace,
    ) -> Result[str | None, WardenError]:
        """The host's HEAD for the workspace; None when it is no repo."""
        return Success(self._world.host_heads.get(workspace.path))

    def resolve(self, workspace: Workspace) -> str:
        """The workspace with simulated symbolic links followed."""
        path = workspace.path
        for _ in range(40):  # the kernel's own limit on link hops
            target = self._world.links.get(path)
            if target is None:
                break
            path = posixpath.normpath(
                posixpath.join(posixpath.dirname(path), target),
            )

        return path

    def ensure_private_dir(self, path: str) -> Result[None, WardenError]:
        """Create the directory (and its parents) in the world."""
        while path not in ("/", "") and path not in self._world.dirs:
            self._world.dirs.append(path)
            path = posixpath.dirname(path)

        return Success(None)

    def list_dir(self, path: str) -> Result[tuple[str, ...], WardenError]:
        """Names of files and links directly in ``path``, sorted."""
        names = {
            posixpath.basename(entry)
            for entry in (*self._world.files, *self._world.links)
            if posixpath.dirname(entry) == path.rstrip("/")
        }

        return Success(tuple(sorted(names)))

    def file_size(self, path: str) -> Result[int, WardenError]:
        """The size of a file."""
        return self._read(path).map(len)

    def sha256(self, path: str) -> Result[str, WardenError]:
        """The hex SHA-256 of a file."""
        return self._read(path).map(
            lambda data: hashlib.sha256(data).hexdigest()
        )

    def create_private_file(self, path: str) -> Result[None, WardenError]:
        """Create an empty file; one that exists is left as it is."""
        if path in self._world.files or path in self._world.links:
            return Failure(
                WardenError(
                    ErrorKind.ALREADY_EXISTS,
                    f"{path} already exists in the simulated host",
                ),
            )
        self._world.files[path] = b""

        return Success(None)

    def commit_file(
        self, temporary: str, final: str
    ) -> Result[None, WardenError]:
        """Rename ``temporary`` to ``final``."""
        data = self._read(temporary)
        if isinstance(data, Failure):
            return Failure(data.failure())
        self._world.files[final] = self._world.files.pop(temporary)

        return Success(None)

    def write_text(self, path: str, text: str) -> Result[None, WardenError]:
        """Write a file at once."""
        self._world.files[path] = text.encode("utf-8")
        return Success(None)

    def read_text(self, path: str) -> Result[str, WardenError]:
        """Read a file as UTF-8."""
        return self._read(path).map(lambda data: data.decode("utf-8"))

    def replace_link(
        self, link: str, target: str
    ) -> Result[None, WardenError]:
        """Point ``link`` at ``target``."""
        self._world.links[link] = target
        return Success(None)

    def read_link(self, link: str) -> Result[str | None, WardenError]:
        """Where ``link`` points, or None."""
        return Success(self._world.links.get(link))

    def remove(self, path: str) -> Result[None, WardenError]:
        """Delete a file or link; a missing one is fine."""
        self._world.files.pop(path, None)
        self._world.links.pop(path, None)

        return Success(None)

    def _read(self, path: str) -> Result[bytes, WardenError]:
        target = self._world.links.get(path, path)
        if not target.startswith("/"):
            target = posixpath.join(posixpath.dirname(path), target)
        data = self._world.files.get(target)
        if data is None:
            return Failure(
                WardenError(
                    ErrorKind.NOT_FOUND,
                    f"file {path} does not exist in the simulated host",
                ),
            )

        return Success(data)
