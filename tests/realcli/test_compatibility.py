"""
The compatibility page and the captures it is made from stay in step.

The first test needs no binary: the committed page must be exactly what
the committed captures render to. The second runs the real CLI and
checks that the captures of its version still describe what it prints.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.realcli.compat import (
    DOC,
    SCENARIOS,
    committed_versions,
    load_captures,
    render,
    run_scenario,
    shapes,
)

REGENERATE = "run: .venv/bin/python -m tests.realcli.compat"


def test_the_page_is_rendered_from_the_committed_captures() -> None:
    versions = committed_versions()

    page = render({v: load_captures(v) for v in versions})

    assert len(versions) >= 2, "the page must compare at least two versions"
    assert DOC.read_text() == page, (
        f"docs/compatibility.md is stale; {REGENERATE}"
    )


@pytest.mark.realcli
@pytest.mark.parametrize("scenario", ["plain", "tool_partial", "dead_login"])
def test_the_captures_of_this_version_still_describe_its_output(
    claude_bin: Path, tmp_path: Path, scenario: str
) -> None:
    version = _version(claude_bin, tmp_path)
    if version not in committed_versions():
        pytest.skip(f"no committed captures for {version}; {REGENERATE}")
    chosen = next(s for s in SCENARIOS if s.name == scenario)

    fresh = run_scenario(claude_bin, chosen, tmp_path)

    committed = load_captures(version)[scenario]
    assert shapes({scenario: fresh}) == shapes({scenario: committed}), (
        f"claude {version} now prints other events or keys; {REGENERATE}"
    )


def _version(binary: Path, home: Path) -> str:
    done = subprocess.run(
        [str(binary), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "PATH": "/usr/bin:/bin",
        },
    )

    return done.stdout.split()[0]
