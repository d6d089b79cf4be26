from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandwarden.cli import EXIT_CLOSED_PIPE
from tests.cli.warden_cli import isolate


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def into_a_closed_pipe(*argv: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m sandwarden`` with stdout a pipe nobody reads."""
    reader, writer = os.pipe()
    # Closed before the start, so every write fails: a reader that quit.
    os.close(reader)
    try:
        return subprocess.run(
            [sys.executable, "-m", "sandwarden", *argv],
            stdout=writer,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    finally:
        os.close(writer)


def test_a_reader_that_quit_ends_transcript_quietly(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    result = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "result": "x" * 1_000_000,
    }
    path.write_text(json.dumps(result) + "\n")

    done = into_a_closed_pipe("transcript", "--json", str(path))

    assert done.returncode == EXIT_CLOSED_PIPE
    assert done.stderr == b""


def test_a_reader_that_quit_ends_a_short_answer_quietly() -> None:
    done = into_a_closed_pipe("doctor", "--runtime", "sim", "--json")

    assert done.returncode == EXIT_CLOSED_PIPE
    assert done.stderr == b""
