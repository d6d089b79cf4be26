"""
Running the real Claude CLI offline, against the Messages API stand-in.

Shared by the tier's tests and by ``tests.realcli.compat``, which runs
the same scenarios for every installed version.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandwarden.domain.events import Event
from sandwarden.domain.invocation import ClaudeRun
from sandwarden.domain.reply import Reply, decode
from sandwarden.domain.stream import StreamDecoder
from sandwarden.simulator.messages_api import DUMMY_API_KEY, MessagesApi

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "scripts" / "install-claude"
CACHE = ROOT / ".cache" / "claude"
BIN_ENV = "SANDWARDEN_CLAUDE_BIN"

#: A run of the tier never needs long: a whole turn takes under a second.
RUN_TIMEOUT = 30.0


def default_version() -> str:
    """The version ``scripts/install-claude`` installs with no argument."""
    found = re.search(
        r'^DEFAULT_VERSION = "([^"]+)"', INSTALLER.read_text(), re.M
    )
    if found is None:
        msg = f"no DEFAULT_VERSION in {INSTALLER}"
        raise RuntimeError(msg)

    return found.group(1)


def find_binary() -> tuple[Path | None, str]:
    """
    The claude binary the tier runs, or None with the reason.

    ``SANDWARDEN_CLAUDE_BIN`` wins; else the pinned version in the cache.
    """
    named = os.environ.get(BIN_ENV)
    if named:
        path = Path(named)
        if path.is_file() and os.access(path, os.X_OK):
            return path, ""
        return None, f"{BIN_ENV}={named} is not an executable file"

    cached = CACHE / default_version() / "claude"
    if cached.is_file():
        return cached, ""

    return None, (
        f"no real claude binary: {BIN_ENV} is unset and {cached} is "
        "missing; run scripts/install-claude"
    )


def cached_versions() -> list[tuple[str, Path]]:
    """Every version installed in the cache, newest first."""
    found = [
        (entry.name, entry / "claude")
        for entry in CACHE.glob("*")
        if (entry / "claude").is_file()
    ]

    return sorted(found, key=lambda item: _version_key(item[0]), reverse=True)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def claude_env(
    home: Path,
    api: MessagesApi | None = None,
    *,
    api_key: bool = True,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """
    A clean environment for the real CLI: nothing of the caller's leaks.

    ``IS_SANDBOX=1`` lets it take ``bypassPermissions`` as root (CI).
    """
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "IS_SANDBOX": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    if api is not None:
        env["ANTHROPIC_BASE_URL"] = api.url
        if api_key:
            env["ANTHROPIC_API_KEY"] = DUMMY_API_KEY
    env.update(extra or {})

    return env


def print_argv(binary: Path, run: ClaudeRun | None = None) -> list[str]:
    """The warden's own claude argv, with the real binary in front."""
    argv = (run or ClaudeRun()).argv()

    return [str(binary), *argv[1:]]


@dataclass(frozen=True)
class Ran:
    """What one run of the real CLI printed, and how it ended."""

    stdout: bytes
    stderr: bytes
    exit_code: int

    def events(self) -> list[Event]:
        """The stdout decoded by the warden's stream decoder."""
        decoder = StreamDecoder()

        return [*decoder.feed(self.stdout), *decoder.finish()]

    def reply(self) -> Reply:
        """The warden's verdict on the run."""
        return decode(self.stdout)

    def lines(self) -> list[dict[str, object]]:
        """The stdout lines as parsed JSON objects."""
        return [
            json.loads(line)
            for line in self.stdout.decode().splitlines()
            if line.startswith("{")
        ]

    def of_type(
        self, kind: str, subtype: str | None = None
    ) -> list[dict[str, object]]:
        """The lines of one type (and subtype)."""
        return [
            line
            for line in self.lines()
            if line.get("type") == kind
            and (subtype is None or line.get("subtype") == subtype)
        ]


def run_claude(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    prompt: str = "",
    timeout: float = RUN_TIMEOUT,
) -> Ran:
    """Run the CLI to its end, the prompt on stdin as the warden sends it."""
    done = subprocess.run(
        list(argv),
        input=prompt.encode(),
        capture_output=True,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )

    return Ran(done.stdout, done.stderr, done.returncode)


def processes_with(marker: str) -> list[int]:
    """The live processes whose environment holds ``marker`` exactly."""
    wanted = marker.encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if state != "Z" and wanted in environ.split(b"\0"):
            found.append(int(entry.name))

    return found
