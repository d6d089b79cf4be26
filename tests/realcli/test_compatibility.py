"""
The compatibility page and the captures it is made from stay in step.

The first tests need no binary: the committed page, and the README's
summary table, must be exactly what the committed captures render to.
The last runs the real CLI and checks that the captures of its version
still describe what it prints; a version without captures skips there,
and fails under CI, as a missing binary does (``conftest.claude_bin``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.realcli.compat import (
    DOC,
    README,
    README_END,
    README_START,
    SCENARIOS,
    committed_versions,
    load_captures,
    readme_section,
    readme_table,
    render,
    run_scenario,
    shapes,
    with_readme_table,
)

REGENERATE = "run: .venv/bin/python -m tests.realcli.compat"


def test_the_page_is_rendered_from_the_committed_captures() -> None:
    versions = committed_versions()

    page = render({v: load_captures(v) for v in versions})

    assert len(versions) >= 2, "the page must compare at least two versions"
    assert DOC.read_text() == page, (
        f"docs/compatibility.md is stale; {REGENERATE}"
    )


def test_the_readme_table_is_rendered_from_the_committed_captures() -> None:
    versions = committed_versions()

    table = readme_table({v: load_captures(v) for v in versions})

    section = readme_section(README.read_text())
    assert section is not None, "README.md lost its compatibility markers"
    assert section == table, (
        f"README.md's compatibility table is stale; {REGENERATE}"
    )


def test_rewriting_the_readme_table_changes_only_the_table() -> None:
    text = f"intro\n{README_START}\nold\n{README_END}\nrest\n"

    rewritten = with_readme_table(text, "| new |\n")

    assert rewritten == (
        f"intro\n{README_START}\n\n| new |\n\n{README_END}\nrest\n"
    )
    assert readme_section(rewritten) == "| new |\n"


@pytest.mark.parametrize(("ci", "outcome"), [("true", "fail"), ("", "skip")])
def test_a_version_without_captures_fails_under_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: str
) -> None:
    monkeypatch.setenv("CI", ci)
    expected = (
        pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    )

    with pytest.raises(expected) as raised:
        _require_captures("0.0.0-none")

    assert "no committed captures for 0.0.0-none" in str(raised.value)


def test_a_version_with_captures_is_required_quietly() -> None:
    _require_captures(committed_versions()[0])


@pytest.mark.realcli
@pytest.mark.parametrize("scenario", ["plain", "tool_partial", "dead_login"])
def test_the_captures_of_this_version_still_describe_its_output(
    claude_bin: Path, tmp_path: Path, scenario: str
) -> None:
    version = _version(claude_bin, tmp_path)
    _require_captures(version)
    chosen = next(s for s in SCENARIOS if s.name == scenario)

    fresh = run_scenario(claude_bin, chosen, tmp_path)

    committed = load_captures(version)[scenario]
    assert shapes({scenario: fresh}) == shapes({scenario: committed}), (
        f"claude {version} now prints other events or keys; {REGENERATE}"
    )


def _require_captures(version: str) -> None:
    """Skip without captures of ``version``; under CI, fail instead."""
    if version in committed_versions():
        return
    reason = f"no committed captures for {version}; {REGENERATE}"
    if os.environ.get("CI"):
        pytest.fail(f"in CI a skip is a failure: {reason}")
    pytest.skip(reason)


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
