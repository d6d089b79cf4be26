from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandwarden.cli import main
from sandwarden.scenario.catalog import builtin_names

ROOT = Path(__file__).resolve().parents[2]


def run(
    capsysbinary: pytest.CaptureFixture[bytes], *argv: str
) -> tuple[int, bytes, str]:
    code = main(["simulate", *argv])
    captured = capsysbinary.readouterr()
    return code, captured.out, captured.err.decode()


def test_a_builtin_scenario_prints_its_timeline_and_summary(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    code, out, err = run(capsysbinary, "expired-oauth")

    text = out.decode()
    assert code == 0
    assert err == ""
    assert text.startswith("scenario expired-oauth (seed 1,")
    assert (
        "+00:20:05  swap         active sandbox is now sandwarden-heal" in text
    )
    assert "started a new conversation" in text
    assert "\nsummary\n" in text


def test_the_same_scenario_and_seed_print_the_same_bytes(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    _, first, _ = run(capsysbinary, "heal-flapping", "--seed", "7")
    _, second, _ = run(capsysbinary, "heal-flapping", "--seed", "7")

    in_a_process = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandwarden",
            "simulate",
            "heal-flapping",
            "--seed",
            "7",
        ],
        capture_output=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
    )

    assert first == second
    assert in_a_process.stdout == first
    assert in_a_process.stderr == b""


def test_another_seed_changes_the_ids_in_the_timeline(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    _, one, _ = run(capsysbinary, "expired-oauth", "--seed", "1")
    _, two, _ = run(capsysbinary, "expired-oauth", "--seed", "2")

    assert one != two


def test_json_is_one_object_with_the_timeline(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    code, out, _ = run(capsysbinary, "daemon-down", "--json")

    document = json.loads(out)
    assert code == 0
    assert document["scenario"]["name"] == "daemon-down"
    topics = {entry["topic"] for entry in document["timeline"]}
    assert {"fault", "probe", "heal", "breaker", "alert", "ask"} <= topics
    assert document["summary"]["breaker"] in {"open", "trial", "closed"}


def test_list_names_every_builtin_scenario(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    code, out, _ = run(capsysbinary, "--list")
    _, listed, _ = run(capsysbinary, "--list", "--json")

    assert code == 0
    for name in builtin_names():
        assert name.encode() in out
    assert [s["name"] for s in json.loads(listed)] == list(builtin_names())


def test_a_scenario_file_of_one_s_own_runs(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nduration = "10m"\n[world]\n'
        'workspace = "/srv/app"\n[[world.sandboxes]]\nname = "sandwarden"\n'
    )

    code, out, _ = run(capsysbinary, str(path))

    assert code == 0
    assert out.startswith(b"scenario mine (seed 1,")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        ((), "expected a SCENARIO"),
        (("--list", "hang"), "--list takes no SCENARIO"),
        (("no-such-scenario",), "expired-oauth"),
    ],
)
def test_bad_usage_exits_2_and_says_why(
    capsysbinary: pytest.CaptureFixture[bytes],
    argv: tuple[str, ...],
    said: str,
) -> None:
    code, out, err = run(capsysbinary, *argv)

    assert code == 2
    assert out == b""
    assert said in err


def test_an_unknown_scenario_under_json_is_one_failed_object_on_stdout(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    code, out, err = run(capsysbinary, "nope", "--json")

    answer = json.loads(out)
    assert code == 2
    assert err == ""
    assert answer["ok"] is False
    assert answer["error"]["kind"] == "invalid_input"
    assert answer["error"]["exit_code"] == 2
    assert "nope: no built-in scenario" in answer["error"]["message"]
    assert "expired-oauth" in answer["error"]["message"]


def test_a_simulation_that_breaks_under_json_is_a_failed_object(
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("the world fell over")

    monkeypatch.setattr("sandwarden.cli.simulate.run_scenario", broken)

    code, out, _ = run(capsysbinary, "hang", "--json")

    answer = json.loads(out)
    assert code == 1
    assert answer["ok"] is False
    assert answer["error"]["kind"] == "unknown"
    assert answer["error"]["exit_code"] == 1
    assert "the world fell over" in answer["error"]["message"]


def test_an_unusable_file_exits_2_naming_the_file_and_the_problem(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[world]\nworkspace = "relative/path"\n')

    code, out, err = run(capsysbinary, str(path))

    assert code == 2
    assert out == b""
    assert str(path) in err
    assert "world.workspace" in err


def test_help_documents_the_exit_codes(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])

    out = capsysbinary.readouterr().out.decode()
    assert "exit codes:" in out
    assert "  2  bad usage" in out
