"""
The public API: ``sandwarden.__all__`` pinned, and the README's examples.

The two examples below are the README's "Embedding" section, run on the
simulator (``SANDWARDEN_RUNTIME=sim``) so they need no Docker.
"""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from returns.pipeline import is_successful

import sandwarden
from sandwarden import (
    ErrorKind,
    SyncWarden,
    Warden,
    bootstrap,
    load_settings,
)

PUBLIC = [
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

# What both flavours offer, with the same names.
FACADE = {
    "ask",
    "probe",
    "heal",
    "watch",
    "parity",
    "status",
    "doctor",
    "save_template",
    "rollback_template",
    "templates",
    "backup",
    "backups",
    "prune_backups",
    "restore",
    "close",
    "config",
}


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, where nothing is imported yet."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        check=True,
        text=True,
    )


def test_the_public_names_are_pinned() -> None:
    assert sandwarden.__all__ == PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_each_public_name_imports(name: str) -> None:
    module = importlib.import_module("sandwarden")

    assert getattr(module, name) is not None


def test_bootstrap_stays_the_function_once_its_module_is_imported() -> None:
    probe = (
        "import sandwarden.bootstrap; from sandwarden import bootstrap; "
        "print(type(bootstrap).__name__)"
    )

    child = run_python(probe)

    assert child.stdout.strip() == "function"


def test_importing_the_decoder_leaves_the_rest_of_the_package_unloaded() -> (
    None
):
    probe = (
        "import sys, sandwarden.domain.stream; "
        "print(sorted(m for m in sys.modules if m.startswith("
        "('sandwarden.adapters', 'sandwarden.service', 'sandwarden.simul', "
        "'asyncio', 'sqlite3'))))"
    )

    child = run_python(probe)

    assert child.stdout.strip() == "[]"


def test_the_public_names_are_listed_by_dir() -> None:
    assert set(dir(sandwarden)) >= set(PUBLIC)


def test_both_wardens_offer_the_same_operations() -> None:
    assert set(dir(Warden)) >= FACADE
    assert set(dir(SyncWarden)) >= FACADE


def test_the_async_example_answers_on_the_simulator(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environ = {"SANDWARDEN_RUNTIME": "sim"}
    cwd, home = str(tmp_path), str(tmp_path / "home")

    # README "Embedding", async: from here ...
    async def main() -> None:
        settings = load_settings(environ, {}, cwd, home).unwrap()
        async with bootstrap(settings).unwrap() as warden:
            result = await warden.ask(
                "What changed today?",
                conversation="chat-1",
                on_text=lambda text: print(text, end="", flush=True),
            )
            print()
            if is_successful(result):
                reply = result.unwrap()
                print(f"session {reply.session_id}, ${reply.total_cost_usd}")
            elif result.failure().kind is ErrorKind.AUTH:
                print("log in again: sandwarden login")
            else:
                print(f"failed: {result.failure()}")

    asyncio.run(main())
    # ... to here.

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "You said: What changed today?"
    assert lines[1].startswith("session ")


def test_the_sync_example_answers_and_reports_health(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environ = {"SANDWARDEN_RUNTIME": "sim"}
    cwd, home = str(tmp_path), str(tmp_path / "home")

    # README "Embedding", sync: from here ...
    settings = load_settings(environ, {}, cwd, home).unwrap()
    with SyncWarden(bootstrap(settings).unwrap()) as warden:
        health = warden.probe()
        if is_successful(health):
            print(f"{health.unwrap().sandbox} is logged in")
        answer = warden.ask("Hello", conversation="chat-1").map(
            lambda reply: reply.text,
        )
        print(answer.value_or("no answer"))
        report = warden.doctor()
        print(f"doctor: {report.status}")
    # ... to here.

    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "sandwarden is logged in",
        "You said: Hello",
        "doctor: warn",
    ]
