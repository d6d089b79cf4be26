"""
The real-CLI tier: finds the binary, gives each test a clean home.

Without a binary the tier skips with the reason; with ``CI`` set it
fails instead, because CI installs the pinned version first and a
missing binary there means the tier silently stopped testing anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.realcli.harness import find_binary


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The real claude binary, or a skip (a failure in CI) with the reason."""
    binary, reason = find_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(f"in CI a skip is a failure: {reason}")
        pytest.skip(reason)

    return binary


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A HOME of its own, so no real config leaks in or gets written."""
    path = tmp_path / "home"
    path.mkdir()

    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty working directory for the run."""
    path = tmp_path / "workspace"
    path.mkdir()

    return path
