import subprocess
from pathlib import Path

import pytest

from sandwarden.simulator.fakes import LATENCY_ENV, FakeTools


def run_with_latency(
    tmp_path: Path,
    latency: str,
) -> subprocess.CompletedProcess[str]:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.0)
    environment = tools.environment() | {LATENCY_ENV: latency}

    return subprocess.run(
        ["docker", "sandbox", "ls", "--json"],
        capture_output=True,
        env=environment,
        text=True,
        timeout=30,
        check=False,
    )


def test_an_emulated_latency_leaves_the_answer_unchanged(
    tmp_path: Path,
) -> None:
    listed = run_with_latency(tmp_path, "0.1")

    assert listed.returncode == 0
    assert listed.stdout.strip() == '{"sandboxes": []}'


@pytest.mark.parametrize("latency", ["soon", "-1", "inf", "nan"])
def test_an_unusable_latency_is_refused_naming_the_setting(
    tmp_path: Path,
    latency: str,
) -> None:
    listed = run_with_latency(tmp_path, latency)

    assert listed.returncode == 1
    assert LATENCY_ENV in listed.stderr
    assert "expected seconds" in listed.stderr
