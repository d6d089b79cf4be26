"""
Helpers for the tests of the warden's subcommands.

In-process runs go through ``sandwarden.cli.main`` on the simulator
(``--runtime sim``, virtual time); ``change_world`` alters the
rehearsal world a run starts from. Real-process runs start
``python -m sandwarden`` against the fake ``docker``/``sbx``.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from sandwarden.cli import main
from sandwarden.settings import CONFIG_ENV, SETTINGS, Settings
from sandwarden.simulator.fakes import FakeTools
from sandwarden.simulator.world import World

# The package exports the function ``bootstrap`` under the module's name.
composition = importlib.import_module("sandwarden.bootstrap")

__all__ = [
    "change_world",
    "isolate",
    "real_environment",
    "run_json",
    "sandwarden",
    "sandwarden_process",
]


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean environment: no settings variables, home and cwd in tmp."""
    for spec in SETTINGS:
        monkeypatch.delenv(spec.env, raising=False)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    workspace = tmp_path / "workspace"
    workspace.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PWD", str(workspace))
    monkeypatch.chdir(workspace)

    return workspace


def sandwarden(*argv: str) -> int:
    """Run the command line in this process on the simulator."""
    return main([*argv, "--runtime", "sim"])


def run_json(
    capsys: pytest.CaptureFixture[str],
    *argv: str,
) -> tuple[int, dict[str, Any]]:
    """Run with ``--json``; return the exit code and the parsed object."""
    code = sandwarden(*argv, "--json")
    out = capsys.readouterr().out
    parsed: dict[str, Any] = json.loads(out)

    return code, parsed


def change_world(
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[World], None],
) -> None:
    """Apply ``change`` to the rehearsal world each run starts from."""
    original: Callable[[Settings], World] = composition.rehearsal_world

    def changed(settings: Settings) -> World:
        world = original(settings)
        change(world)
        return world

    monkeypatch.setattr(composition, "rehearsal_world", changed)


def real_environment(tools: FakeTools, tmp_path: Path) -> dict[str, str]:
    """The fakes first on PATH, private state and home, no settings."""
    environment = {
        key: value
        for key, value in tools.environment().items()
        if key not in {spec.env for spec in SETTINGS} and key != CONFIG_ENV
    }
    environment["HOME"] = str(tmp_path / "home")
    environment["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    environment["SANDWARDEN_STATE_DIR"] = str(tmp_path / "state")
    environment["SANDWARDEN_RUNTIME"] = "docker"

    return environment


def sandwarden_process(
    environment: Mapping[str, str],
    workspace: Path,
    *argv: str,
    stdin: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m sandwarden`` as its own process."""
    return subprocess.run(
        [sys.executable, "-m", "sandwarden", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env={**environment, "PWD": str(workspace)},
        cwd=workspace,
        timeout=60,
        check=False,
    )
