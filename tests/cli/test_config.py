from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

import pytest
from returns.pipeline import is_successful

from sandwarden.cli import config
from sandwarden.settings import CONFIG_ENV, SETTINGS


@pytest.fixture(autouse=True)
def clean_environment(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for spec in SETTINGS:
        monkeypatch.delenv(spec.env, raising=False)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PWD", str(tmp_path))
    monkeypatch.chdir(tmp_path)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="sandwarden")
    config.register(top.add_subparsers())
    return top


def run(*argv: str) -> int:
    args = parser().parse_args(["config", *argv])
    code: int = args.handler(args)
    return code


def test_config_shows_each_setting_with_its_source(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    file = tmp_path / "xdg" / "sandwarden" / "config.toml"
    file.parent.mkdir(parents=True)
    file.write_text("backup_keep = 7\n")
    monkeypatch.setenv("SANDBOX_SELF_HEAL_TEMPLATE", "bot-auth:v2")

    code = run("--sandbox", "bot-1")

    out = capsys.readouterr().out
    lines = {
        line.split()[0]: line.split()[1:] for line in out.splitlines()[2:]
    }
    assert code == 0
    assert f"config file: {file}" in out
    assert lines["sandbox"] == ["bot-1", "flag:--sandbox"]
    assert lines["template"] == [
        "bot-auth:v2",
        "env:SANDBOX_SELF_HEAL_TEMPLATE",
    ]
    assert lines["backup_keep"] == ["7", f"file:{file}"]
    assert lines["workspace"] == [str(tmp_path), "default"]
    assert lines["model"] == ["(unset)", "default"]
    assert set(lines) == {spec.key for spec in SETTINGS}


def test_json_output_is_one_object_with_values_in_key_units(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run("--json", "--no-self-heal", "--set", "probe_timeout_ms=4500")

    shown = json.loads(capsys.readouterr().out)
    assert code == 0
    assert shown["ok"] is True
    assert shown["config_file"] is None
    assert shown["settings"]["probe_timeout_ms"] == {
        "value": 4500,
        "source": "flag:--set probe_timeout_ms",
        "env": "SANDBOX_PROBE_TIMEOUT_MS",
        "flag": None,
    }
    assert shown["settings"]["self_heal"]["value"] is False
    assert shown["settings"]["sandbox"]["value"] == "sandwarden"


def test_a_bad_value_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SANDBOX_SELF_HEAL_MAX_ATTEMPTS", "three")
    monkeypatch.setenv("BOT_RUNTIME_DIR", "bot")

    code = run()

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "SANDBOX_SELF_HEAL_MAX_ATTEMPTS='three'" in captured.err
    assert "BOT_RUNTIME_DIR='bot'" in captured.err
    assert len(captured.err.splitlines()) == 2


def test_a_bad_value_under_json_is_one_failed_object_on_stdout(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SANDBOX_PROBE_TIMEOUT_MS", "abc")

    code = run("--json")

    captured = capsys.readouterr()
    answer = json.loads(captured.out)
    assert code == 2
    assert captured.err == ""
    assert answer["ok"] is False
    assert answer["error"]["kind"] == "invalid_input"
    assert answer["error"]["exit_code"] == 2
    shown = answer["error"]["message"] + answer["error"]["detail"]
    assert "SANDBOX_PROBE_TIMEOUT_MS='abc'" in shown


def test_an_unknown_set_key_exits_2_listing_the_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = run("--set", "probe_timeout=5")

    err = capsys.readouterr().err
    assert code == 2
    assert "probe_timeout=5" in err
    assert "probe_timeout_ms" in err


def test_a_misspelt_variable_is_warned_about_on_stderr(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SANDBOX_HEALTH_WATCHDOG_ENABLE", "false")

    code = run()

    err = capsys.readouterr().err
    assert code == 0
    assert "did you mean SANDBOX_HEALTH_WATCHDOG_ENABLED?" in err


def test_a_secret_setting_is_masked(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = tuple(
        dataclasses.replace(spec, secret=True) if spec.key == "model" else spec
        for spec in SETTINGS
    )
    monkeypatch.setattr(config, "SETTINGS", secret)

    code = run("--json", "--model", "sk-ant-do-not-print")

    out = capsys.readouterr().out
    assert code == 0
    assert "sk-ant" not in out
    assert json.loads(out)["settings"]["model"]["value"] == "********"


def test_other_commands_take_the_same_flags() -> None:
    command = argparse.ArgumentParser()
    config.add_settings_arguments(command)

    args = command.parse_args(
        [
            "--allow-api-key-auth",
            "--runtime",
            "sbx",
            "--set",
            "runtime=sim",
            "--set",
            "backup_keep=3",
            "--config",
            "/etc/sandwarden.toml",
        ],
    )
    flags = config.settings_flags(args)

    assert is_successful(flags)
    assert flags.unwrap() == {
        "allow_api_key_auth": "true",
        "runtime": "sbx",
        "backup_keep": "3",
        "config": "/etc/sandwarden.toml",
    }


def test_the_working_directory_keeps_the_shells_spelling(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    monkeypatch.chdir(real)

    assert config.current_directory({"PWD": str(tmp_path / "link")}) == str(
        tmp_path / "link"
    )
    assert config.current_directory({"PWD": str(tmp_path)}) == os.getcwd()
    assert config.current_directory({}) == os.getcwd()
