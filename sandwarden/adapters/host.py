"""
The machine the warden runs on: its git, and files written so they survive.

Every write goes to a temporary name in the same directory, is synced,
renamed over the final name, and the directory is synced: after a crash
the final name holds the old contents or the new, never a torn file.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import re
import secrets

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.values import Workspace

__all__ = ["LocalHost"]

_log = logging.getLogger("sandwarden.host")

# SHA-1 object names are 40 hex digits, SHA-256 ones 64.
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# What git prints when there is no commit to name: outside a repository,
# or in a repository whose branch has no commit yet.
_NO_HEAD = (
    "not a git repository",
    "unknown revision",
    "ambiguous argument 'head'",
)
_CHUNK = 1 << 20
# git answers rev-parse in milliseconds; ten seconds covers a cold disk
# or a slow network file system without letting a wedged mount hang us.
_GIT_TIMEOUT = 10.0


class LocalHost:
    """The ``Host`` port on the local file system and git executable."""

    def __init__(
        self,
        *,
        git: str = "git",
        git_timeout: float = _GIT_TIMEOUT,
    ) -> None:
        self._git = git
        self._timeout = git_timeout

    async def git_head(
        self,
        workspace: Workspace,
    ) -> Result[str | None, WardenError]:
        """
        The commit HEAD names in the workspace; None: no repository.

        A repository without any commit answers None too: there is no
        commit a sandbox could disagree about.
        """
        extra = {"sandwarden.workspace": workspace.path}
        _log.debug("host.git_head.started", extra=extra)
        result = await self._rev_parse(workspace)
        if is_successful(result):
            _log.debug("host.git_head.complete", extra=extra)
        else:
            _log.debug(
                "host.git_head.failed",
                extra={**extra, "sandwarden.error": str(result.failure())},
            )

        return result

    async def _rev_parse(
        self,
        workspace: Workspace,
    ) -> Result[str | None, WardenError]:
        env = {
            **os.environ,
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_OPTIONAL_LOCKS": "0",
        }
        try:
            process = await asyncio.create_subprocess_exec(
                self._git,
                "-C",
                workspace.path,
                "rev-parse",
                "HEAD",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
            )
        except OSError as error:
            return Failure(
                WardenError(
                    ErrorKind.NOT_FOUND,
                    f"git ({self._git}) cannot be run: {error.strerror}; "
                    "expected git on PATH to read the workspace's HEAD",
                ),
            )
        try:
            stdout, stderr = await asyncio.wait_for(
                process.communicate(), self._timeout
            )
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            return Failure(
                WardenError(
                    ErrorKind.TIMEOUT,
                    f"git rev-parse HEAD in {workspace} gave no answer in "
                    f"{self._timeout:g} s",
                ),
            )

        return _read_head(workspace, process.returncode, stdout, stderr)

    def resolve(self, workspace: Workspace) -> str:
        """The workspace with symbolic links resolved (or as is)."""
        try:
            return os.path.realpath(workspace.path, strict=True)
        except OSError:
            return workspace.path

    def ensure_private_dir(self, path: str) -> Result[None, WardenError]:
        """Create ``path`` if needed and make it mode 0700."""
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            os.chmod(path, 0o700)
        except OSError as error:
            return Failure(_error("create directory", path, error))

        return Success(None)

    def list_dir(self, path: str) -> Result[tuple[str, ...], WardenError]:
        """The names in a directory, sorted; a missing one is empty."""
        try:
            return Success(tuple(sorted(os.listdir(path))))
        except FileNotFoundError:
            return Success(())
        except OSError as error:
            return Failure(_error("list", path, error))

    def file_size(self, path: str) -> Result[int, WardenError]:
        """The size of a file in bytes; a missing one is not_found."""
        try:
            return Success(os.stat(path).st_size)
        except FileNotFoundError:
            return Failure(_missing(path))
        except OSError as error:
            return Failure(_error("read the size of", path, error))

    def sha256(self, path: str) -> Result[str, WardenError]:
        """The hex SHA-256 of a file's contents, read in 1 MiB pieces."""
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
        except FileNotFoundError:
            return Failure(_missing(path))
        except OSError as error:
            return Failure(_error("checksum", path, error))

        return Success(digest.hexdigest())

    def create_private_file(self, path: str) -> Result[None, WardenError]:
        """
        Create ``path`` empty with mode 0600; an existing one is an error.

        A tool told to write there truncates it and the mode stays, so
        its contents are never readable by others, even half-written.
        """
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            os.close(os.open(path, flags, 0o600))
        except FileExistsError:
            return Failure(
                WardenError(
                    ErrorKind.ALREADY_EXISTS,
                    f"{path} already exists; it was left as it is",
                ),
            )
        except OSError as error:
            return Failure(_error("create", path, error))

        return Success(None)

    def commit_file(
        self,
        temporary: str,
        final: str,
    ) -> Result[None, WardenError]:
        """Make ``temporary`` 0600, sync it, rename it to ``final``, sync."""
        try:
            descriptor = os.open(temporary, os.O_RDONLY | os.O_CLOEXEC)
            try:
                os.fchmod(descriptor, 0o600)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(temporary, final)
            _sync_directory(final)
        except OSError as error:
            return Failure(_error("commit", final, error))

        return Success(None)

    def write_text(self, path: str, text: str) -> Result[None, WardenError]:
        """Write a file atomically (temporary name, sync, rename), 0600."""
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as error:
            return Failure(
                WardenError.invalid(
                    f"text for {path} cannot be written as UTF-8 "
                    f"({error.reason}); nothing was written",
                ),
            )
        temporary = _temporary_name(path)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            descriptor = os.open(temporary, flags, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
            _sync_directory(path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            return Failure(_error("write", path, error))

        return Success(None)

    def read_text(self, path: str) -> Result[str, WardenError]:
        """Read a whole text file as UTF-8."""
        try:
            with open(path, encoding="utf-8") as handle:
                return Success(handle.read())
        except FileNotFoundError:
            return Failure(_missing(path))
        except (OSError, UnicodeDecodeError) as error:
            return Failure(_error("read", path, error))

    def replace_link(
        self,
        link: str,
        target: str,
    ) -> Result[None, WardenError]:
        """Point the symbolic link ``link`` at ``target``, atomically."""
        temporary = _temporary_name(link)
        try:
            os.symlink(target, temporary)
            os.replace(temporary, link)
            _sync_directory(link)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            return Failure(_error("replace the link", link, error))

        return Success(None)

    def read_link(self, link: str) -> Result[str | None, WardenError]:
        """
        Where ``link`` points; None when there is no such link.

        A plain file (or directory) of that name is no link either.
        """
        try:
            return Success(os.readlink(link))
        except FileNotFoundError:
            return Success(None)
        except OSError as error:
            # readlink(2) answers EINVAL for anything that is not a link.
            if error.errno == errno.EINVAL:
                return Success(None)
            return Failure(_error("read the link", link, error))

    def remove(self, path: str) -> Result[None, WardenError]:
        """Delete a file or link; a missing one is fine."""
        try:
            os.unlink(path)
            _sync_directory(path)
        except FileNotFoundError:
            return Success(None)
        except OSError as error:
            return Failure(_error("remove", path, error))

        return Success(None)


def _read_head(
    workspace: Workspace,
    code: int | None,
    stdout: bytes,
    stderr: bytes,
) -> Result[str | None, WardenError]:
    said = stderr.decode("utf-8", "replace").strip()
    if code == 0:
        head = stdout.decode("ascii", "replace").strip()
        if _COMMIT.fullmatch(head):
            return Success(head)
        return Failure(
            WardenError(
                ErrorKind.UNKNOWN,
                f"git rev-parse HEAD in {workspace} printed {head[:80]!r}; "
                "expected a commit id",
            ),
        )
    if any(phrase in said.lower() for phrase in _NO_HEAD):
        return Success(None)
    if "cannot change to" in said or "no such file" in said.lower():
        return Failure(
            WardenError(
                ErrorKind.NOT_FOUND,
                f"workspace {workspace} does not exist on this host",
                detail=said[-500:],
            ),
        )

    return Failure(
        WardenError(
            ErrorKind.UNKNOWN,
            f"git rev-parse HEAD in {workspace} failed (exit {code}): "
            f"{said.splitlines()[-1] if said else 'no message'}",
            detail=said[-500:],
        ),
    )


def _temporary_name(path: str) -> str:
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")


def _sync_directory(path: str) -> None:
    """Sync the directory holding ``path`` so a rename is durable."""
    directory = os.path.dirname(os.path.abspath(path))
    descriptor = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _missing(path: str) -> WardenError:
    return WardenError(ErrorKind.NOT_FOUND, f"{path} does not exist")


def _error(
    action: str,
    path: str,
    error: OSError | UnicodeDecodeError,
) -> WardenError:
    if isinstance(error, OSError):
        cause = error.strerror or str(error)
    else:
        cause = f"not UTF-8 text ({error.reason})"

    return WardenError(
        ErrorKind.STORAGE,
        f"cannot {action} {path}: {cause}",
    )
