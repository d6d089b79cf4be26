from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sandwarden.cli.common import LiveText
from sandwarden.simulator.fakes import FakeTools
from sandwarden.simulator.world import Behaviour, LoginMethod, Plan, World
from tests.cli.warden_cli import (
    change_world,
    isolate,
    real_environment,
    run_json,
    sandwarden,
    sandwarden_process,
)

REPLY_KEYS = {
    "ok",
    "text",
    "session_id",
    "conversation",
    "outcome",
    "error_kind",
    "cost_usd",
    "turns",
    "duration_ms",
    "model",
    "usage",
    "notes",
}
ERROR_KEYS = {"kind", "reason", "message", "detail", "exit_code"}


@pytest.fixture(autouse=True)
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)


def queue(plan: Plan) -> Callable[[World], None]:
    def change(world: World) -> None:
        world.sandboxes["sandwarden"].plans.append(plan)

    return change


def test_ask_streams_the_answer_to_stdout_and_ends_the_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = sandwarden("ask", "hello there")

    captured = capsys.readouterr()
    assert code == 0
    assert captured.out == "You said: hello there\n"


def test_ask_json_prints_the_final_reply_as_one_object(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, reply = run_json(capsys, "ask", "hi", "--conversation", "chat-1")

    assert code == 0
    assert set(reply) == REPLY_KEYS
    assert reply["ok"] is True
    assert reply["text"] == "You said: hi"
    assert reply["conversation"] == "chat-1"
    assert reply["outcome"] == "success"
    assert reply["error_kind"] is None
    assert reply["turns"] == 1
    assert reply["session_id"]


def test_ask_reads_the_prompt_from_stdin_for_a_dash(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("from a pipe"))

    code = sandwarden("ask", "-")

    assert code == 0
    assert capsys.readouterr().out == "You said: from a pipe\n"


def test_an_empty_prompt_is_bad_usage(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("  \n"))

    code, answer = run_json(capsys, "ask")

    assert code == 2
    assert answer["ok"] is False
    assert set(answer["error"]) == ERROR_KEYS
    assert answer["error"]["kind"] == "invalid_input"


def test_a_closed_stdin_is_bad_usage_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", None)

    code = sandwarden("ask", "-")

    assert code == 2
    assert "standard input is closed" in capsys.readouterr().err


def test_a_prompt_of_bytes_that_are_not_utf8_is_bad_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # How Python hands over an argument holding the byte 0xff.
    prompt = b"caf\xff".decode("utf-8", "surrogateescape")

    code, answer = run_json(capsys, "ask", prompt)

    assert code == 2
    assert answer["error"]["kind"] == "invalid_input"
    assert "not UTF-8 text" in answer["error"]["message"]


def test_live_text_no_encoding_takes_is_written_escaped() -> None:
    buffer = io.BytesIO()
    stream = io.TextIOWrapper(buffer, encoding="utf-8", write_through=True)
    live = LiveText(stream, io.StringIO())

    live("half \ud800 a pair")
    live.end()

    assert buffer.getvalue() == b"half \\ud800 a pair\n"


def test_live_text_that_ends_its_line_gets_no_second_newline() -> None:
    out = io.StringIO()
    live = LiveText(out, io.StringIO())

    live("first line\n")
    live("second line\n")
    live.end()

    assert out.getvalue() == "first line\nsecond line\n"


def test_live_text_ends_its_line_before_stderr_where_both_show(
    tmp_path: Path,
) -> None:
    with (tmp_path / "both").open("w", encoding="utf-8") as both:
        live = LiveText(both, both)

        live("partial")
        live.interrupt()
        live(" more")
        live.end()

    assert (tmp_path / "both").read_text("utf-8") == "partial\n more\n"


def test_live_text_apart_from_stderr_keeps_its_line_whole(
    tmp_path: Path,
) -> None:
    with (
        (tmp_path / "out").open("w", encoding="utf-8") as out,
        (tmp_path / "err").open("w", encoding="utf-8") as err,
    ):
        live = LiveText(out, err)

        live("partial")
        live.interrupt()
        live(" more")
        live.end()

    assert (tmp_path / "out").read_text("utf-8") == "partial more\n"


def _ask_logging(
    workspace: Path,
    *,
    stderr: int,
) -> subprocess.CompletedProcess[str]:
    """Ask on the simulator in a process of its own, logging at INFO."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "sandwarden",
            "ask",
            "hello",
            "--runtime",
            "sim",
            "--log-level",
            "info",
        ],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=workspace,
        timeout=60,
        check=False,
    )


def test_a_log_line_starts_below_the_answer_when_both_share_a_stream(
    workspace: Path,
) -> None:
    done = _ask_logging(workspace, stderr=subprocess.STDOUT)

    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout
    assert lines[0] == "You said: hello"
    assert lines[1].startswith("sandwarden: info: ")


def test_the_answer_apart_from_the_logs_is_the_text_and_one_newline(
    workspace: Path,
) -> None:
    done = _ask_logging(workspace, stderr=subprocess.PIPE)

    assert done.returncode == 0, done.stderr
    assert done.stdout == "You said: hello\n"
    assert "sandwarden: info: " in done.stderr


def test_a_logged_out_sandbox_without_self_heal_needs_a_human(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def log_out(world: World) -> None:
        world.sandboxes["sandwarden"].login.method = LoginMethod.NONE

    change_world(monkeypatch, log_out)

    code = sandwarden("ask", "hi", "--no-self-heal")

    err = capsys.readouterr().err
    assert code == 3
    assert "sandwarden: auth: " in err


def test_a_usage_limit_exits_seven_with_the_kind(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    change_world(monkeypatch, queue(Plan(Behaviour.USAGE_LIMIT)))

    code, answer = run_json(capsys, "ask", "hi")

    assert code == 7
    assert answer["error"]["kind"] == "usage_limit"
    assert answer["error"]["exit_code"] == 7


def test_a_stalled_run_exits_five(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    change_world(monkeypatch, queue(Plan(Behaviour.STALL)))

    code, answer = run_json(
        capsys,
        "ask",
        "hi",
        "--set",
        "prompt_inactivity_timeout_ms=2000",
        "--no-self-heal",
    )

    assert code == 5
    assert answer["error"]["kind"] == "stalled"


def test_a_heal_on_the_way_is_a_note_on_stderr_and_in_the_reply(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    change_world(monkeypatch, queue(Plan(Behaviour.STALL)))

    code = sandwarden(
        "ask",
        "hi",
        "--set",
        "prompt_inactivity_timeout_ms=2000",
    )

    captured = capsys.readouterr()
    assert code == 0
    assert captured.out == "You said: hi\n"
    assert "sandwarden: note: healed after stalled" in captured.err


def test_an_answer_cut_off_and_retried_is_marked_before_it_starts_again(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    drip = Plan(
        Behaviour.SLOW_DRIP, text="FIRST-ATTEMPT", pace=1.0, piece=1200
    )
    change_world(monkeypatch, queue(drip))

    code = sandwarden("ask", "hi", "--set", "prompt_timeout_ms=3000")

    captured = capsys.readouterr()
    cut, answer = captured.out.split("\n", 1)
    assert code == 0
    assert cut.startswith("FIRST")
    assert answer == "You said: hi\n"
    assert "note: the answer above was cut off; healed after timeout" in (
        captured.err
    )


def test_ask_against_the_fake_docker_answers_in_a_real_process(
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox("sandwarden", workspace)
    environment = real_environment(tools, tmp_path)

    done = sandwarden_process(
        environment,
        workspace,
        "ask",
        "--json",
        "--log-level",
        "warning",
        stdin="over a pipe",
    )

    answer = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert answer["outcome"] == "success"
    assert "over a pipe" in answer["text"]


def test_ask_with_the_daemon_down_exits_four_in_a_real_process(
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox("sandwarden", workspace)
    tools.set_daemon(up=False)
    environment = real_environment(tools, tmp_path)

    done = sandwarden_process(
        environment,
        workspace,
        "ask",
        "hi",
        "--no-self-heal",
    )

    assert done.returncode == 4
    assert "sandbox_unavailable (daemon_down)" in done.stderr
    assert done.stdout == ""


def test_sigterm_stops_a_hanging_ask_and_what_runs_in_the_sandbox(
    tmp_path: Path,
    workspace: Path,
) -> None:
    tools = FakeTools(tmp_path / "fakes", time_scale=0.01)
    tools.add_sandbox("sandwarden", workspace)
    tools.queue_reply("sandwarden", Plan(Behaviour.HANG))
    environment = real_environment(tools, tmp_path)
    asking = subprocess.Popen(
        [sys.executable, "-m", "sandwarden", "ask", "hi", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**environment, "PWD": str(workspace)},
        cwd=workspace,
    )
    try:
        # Wait (bounded) until Claude runs "inside" the fake sandbox.
        deadline = time.monotonic() + 30.0
        while not any("-p" in p.command for p in tools.alive("sandwarden")):
            assert asking.poll() is None, asking.communicate()
            assert time.monotonic() < deadline, "claude never started"
            time.sleep(0.05)

        asking.send_signal(signal.SIGTERM)
        out, err = asking.communicate(timeout=30.0)
    finally:
        if asking.poll() is None:
            asking.kill()
            asking.communicate()

    assert asking.returncode == 5, err
    assert json.loads(out)["error"]["kind"] == "cancelled"
    assert tools.alive("sandwarden") == []
