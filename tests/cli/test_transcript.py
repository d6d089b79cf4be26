import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sandwarden.cli import transcript

TRANSCRIPTS = Path(__file__).parent.parent / "fixtures" / "transcripts"
JSON_KEYS = {
    "outcome",
    "error_kind",
    "session_id",
    "subtype",
    "is_error",
    "result_text",
    "errors",
    "total_cost_usd",
    "num_turns",
    "event_counts",
}


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    transcript.register(subparsers)
    args = parser.parse_args(["transcript", *argv])
    code: int = args.handler(args)
    return code


def test_a_successful_run_exits_zero_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run(str(TRANSCRIPTS / "success.jsonl"))

    out = capsys.readouterr().out
    assert code == 0
    assert "outcome      success" in out
    assert "5f0c2a1e-8d7b-4c1a-9e3f-1a2b3c4d5e6f" in out
    assert "$0.0123" in out
    assert "The code word is BANANA." in out
    assert "assistant 1, rate_limit_event 1, result 1, system 1" in out


def test_an_auth_failure_exits_one_and_tells_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run(str(TRANSCRIPTS / "auth_not_logged_in.jsonl"))

    out = capsys.readouterr().out
    assert code == 1
    assert "error: auth" in out
    assert "Not logged in · Please run /login" in out
    assert "sandwarden login" in out
    assert "assistant error authentication_failed" in out


def test_an_unknown_session_is_not_offered_for_resume(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run(str(TRANSCRIPTS / "resume_unknown_session.jsonl"))

    out = capsys.readouterr().out
    assert code == 1
    assert "error: session_not_found" in out
    assert "resume with  nothing: start a new conversation" in out


def test_noise_and_cut_lines_are_reported(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = (TRANSCRIPTS / "sandbox_debug_noise.jsonl").read_bytes()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(data[: data.rindex(b'{"type":"result"') + 30])

    code = run(str(cut))

    out = capsys.readouterr().out
    assert code == 1
    assert "error: truncated" in out
    assert "'[SandboxDebug] proxy: listening on 127.0.0.1:3128'" in out
    assert "the last line is cut off" in out


def test_json_output_has_exactly_the_documented_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run("--json", str(TRANSCRIPTS / "usage_limit.jsonl"))

    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert set(summary) == {"ok", *JSON_KEYS}
    assert summary["ok"] is False
    assert summary["outcome"] == "error"
    assert summary["error_kind"] == "usage_limit"
    assert summary["is_error"] is True
    assert summary["total_cost_usd"] == 0
    assert summary["event_counts"]["rate_limit_event"] == 1


def test_json_output_of_a_truncated_run_keeps_absent_values_null(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = (TRANSCRIPTS / "tool_use.jsonl").read_bytes()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(data[: data.rindex(b"\n", 0, -1) + 1])

    code = run("--json", str(cut))

    summary = json.loads(capsys.readouterr().out)
    assert code == 1
    assert summary["error_kind"] == "truncated"
    assert summary["is_error"] is None
    assert summary["total_cost_usd"] is None
    assert summary["session_id"] == "7a1b2c3d-1111-4222-8333-944455566677"


def test_standard_input_is_read_for_a_dash(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = (TRANSCRIPTS / "tool_use.jsonl").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))

    code = run("--json", "-")

    assert code == 0
    assert json.loads(capsys.readouterr().out)["num_turns"] == 2


def test_an_oversized_line_is_named_with_its_size(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "big.jsonl"
    big = b'{"type":"user","pad":"' + b"z" * 5000 + b'"}\n'
    path.write_bytes(big + (TRANSCRIPTS / "success.jsonl").read_bytes())

    code = run("--max-line", "1000", str(path))

    out = capsys.readouterr().out
    assert code == 0
    assert f"{len(big) - 1:,} bytes" in out


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read"),
        (b"", "is empty"),
        (b"[SandboxDebug] hi\nnot json\n", "holds no stream-json event"),
        (b'{"a":1}\n[1]\n', "2 line(s) that are not stream-json events"),
    ],
)
def test_unusable_input_exits_two_naming_the_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes | None,
    says: str,
) -> None:
    path = tmp_path / "run.jsonl"
    if content is not None:
        path.write_bytes(content)

    code = run(str(path))

    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err
    assert says in err
    assert "stream-json" in err


def test_unusable_input_under_json_is_one_failed_object_on_stdout(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "absent.jsonl"

    code = run(str(path), "--json")

    captured = capsys.readouterr()
    answer = json.loads(captured.out)
    assert code == 2
    assert captured.err == ""
    assert answer["ok"] is False
    assert answer["error"]["kind"] == "invalid_input"
    assert answer["error"]["exit_code"] == 2
    assert f"cannot read {path}" in answer["error"]["message"]
    assert "stream-json" in answer["error"]["message"]


def test_json_lines_that_are_no_events_are_not_called_non_json(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "run.jsonl"
    success = (TRANSCRIPTS / "success.jsonl").read_bytes()
    path.write_bytes(b'{"a":1}\n[1]\n' + success)

    code = run(str(path))

    out = capsys.readouterr().out
    assert code == 0
    assert "2 line(s) that are not stream-json events skipped" in out
    assert "non-JSON" not in out


def test_a_closed_stdin_is_unusable_input_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(sys, "stdin", None)

    code = run("-")

    err = capsys.readouterr().err
    assert code == 2
    assert "standard input is closed" in err


def lone_surrogate_run(tmp_path: Path) -> Path:
    path = tmp_path / "run.jsonl"
    # The JSON escape of half a surrogate pair, as a broken writer emits.
    result = (
        b'{"type":"result","subtype":"success","is_error":false,'
        b'"result":"half \\ud800 a pair","session_id":"s-1"}\n'
    )
    path.write_bytes(result)

    return path


def test_a_lone_surrogate_is_shown_escaped_in_text(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run(str(lone_surrogate_run(tmp_path)))

    out = capsys.readouterr().out
    assert code == 0
    assert "half \\ud800 a pair" in out


def test_a_lone_surrogate_survives_json_output(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run("--json", str(lone_surrogate_run(tmp_path)))

    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["ok"] is True
    assert summary["result_text"] == "half \ud800 a pair"


def test_a_cap_that_is_not_a_positive_number_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        run("--max-line", "zero", "x")

    assert stopped.value.code == 2
    assert (
        "'zero' is not a positive number of bytes" in capsys.readouterr().err
    )


def test_the_installed_command_explains_a_failed_run() -> None:
    path = TRANSCRIPTS / "api_overloaded.jsonl"

    done = subprocess.run(
        [sys.executable, "-m", "sandwarden", "transcript", "--json", path],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert json.loads(done.stdout)["error_kind"] == "api_error"
