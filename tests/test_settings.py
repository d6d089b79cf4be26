from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.values import ImageTag, SandboxName, Workspace
from sandwarden.settings import (
    SETTINGS,
    LogLevel,
    Runtime,
    Settings,
    config_directory,
    is_secret_name,
    load_settings,
    mask,
)

HOME = "/home/op"
CWD = "/srv/bot"


def load(
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, str | None] | None = None,
    config_file: str | None = None,
) -> Settings:
    result = load_settings(
        environ or {}, flags or {}, CWD, HOME, config_file=config_file
    )
    assert is_successful(result), result

    return result.unwrap()


def refusal(
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, str | None] | None = None,
    config_file: str | None = None,
) -> str:
    result = load_settings(
        environ or {}, flags or {}, CWD, HOME, config_file=config_file
    )
    assert not is_successful(result), result
    assert result.failure().kind is ErrorKind.INVALID_INPUT

    return result.failure().message


def test_with_nothing_configured_the_specification_defaults_apply() -> None:
    settings = load()

    assert settings.sandbox == SandboxName("sandwarden")
    assert settings.workspace == Workspace(CWD)
    assert settings.template == ImageTag("sandwarden-auth", "latest")
    assert settings.probe_timeout == 30.0
    assert settings.prompt_limits() == Limits(3600.0, 600.0)
    assert settings.resume_limits() == Limits(3600.0, 600.0)
    assert settings.probe_limits() == Limits(30.0)
    assert settings.allow_api_key_auth is False
    assert settings.self_heal is True
    assert settings.self_heal_max_attempts == 3
    assert settings.self_heal_window == 900.0
    assert settings.watchdog_enabled is True
    assert settings.watchdog_interval == 300.0
    assert settings.backup_keep == 14
    assert settings.backup_dir == f"{HOME}/.config/sandwarden/templates"
    assert settings.state_dir == f"{HOME}/.config/sandwarden"
    assert settings.state_file.startswith(settings.state_dir + "/")
    assert settings.runtime is Runtime.DOCKER
    assert settings.model is None
    assert settings.config_file is None
    assert set(settings.sources.values()) == {"default"}


def test_every_field_of_settings_has_exactly_one_spec() -> None:
    own = {"config_file", "sources", "warnings"}
    fields = {f.name for f in dataclasses.fields(Settings)} - own

    assert sorted(spec.attr for spec in SETTINGS) == sorted(fields)
    assert len({spec.key for spec in SETTINGS}) == len(SETTINGS)
    assert len({spec.env for spec in SETTINGS}) == len(SETTINGS)


def test_a_flag_beats_the_environment_which_beats_the_file(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'sandbox = "from-file"\nmodel = "file-model"\nbackup_keep = 5\n',
    )
    environ = {"CLAUDE_SANDBOX_NAME": "from-env", "SANDBOX_CLAUDE_MODEL": "m"}

    settings = load(environ, {"sandbox": "from-flag"}, str(config))

    assert settings.sandbox == SandboxName("from-flag")
    assert settings.model == "m"
    assert settings.backup_keep == 5
    assert settings.source("sandbox") == "flag:--sandbox"
    assert settings.source("model") == "env:SANDBOX_CLAUDE_MODEL"
    assert settings.source("backup_keep") == f"file:{config}"
    assert settings.source("template") == "default"
    assert settings.config_file == str(config)


def test_a_flag_without_its_own_option_is_named_as_set() -> None:
    settings = load(flags={"probe_timeout_ms": "5000"})

    assert settings.probe_timeout == 5.0
    assert settings.source("probe_timeout_ms") == "flag:--set probe_timeout_ms"


def test_the_default_file_is_read_from_the_configuration_directory(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "xdg" / "sandwarden"
    directory.mkdir(parents=True)
    (directory / "config.toml").write_text("self_heal = false\n")

    settings = load({"XDG_CONFIG_HOME": str(tmp_path / "xdg")})

    assert settings.self_heal is False
    assert settings.config_file == str(directory / "config.toml")
    assert settings.backup_dir == str(directory / "templates")


def test_a_relative_xdg_config_home_is_ignored() -> None:
    assert config_directory({"XDG_CONFIG_HOME": "rel"}, HOME) == (
        f"{HOME}/.config/sandwarden"
    )


def test_a_named_file_that_is_missing_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"

    message = refusal({"SANDWARDEN_CONFIG": str(missing)})

    assert str(missing) in message
    assert "does not exist" in message


def test_a_file_that_is_not_toml_is_refused_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("sandbox = \n")

    message = refusal(flags={"config": str(config)})

    assert str(config) in message
    assert "TOML" in message


def test_an_unknown_key_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('sandbox = "a"\nself_heel = true\n')

    message = refusal(config_file=str(config))

    assert "self_heel" in message
    assert "self_heal" in message
    assert "watchdog_interval_ms" in message


def test_a_bad_variable_is_named_with_its_value_and_expectation() -> None:
    message = refusal({"SANDBOX_PROBE_TIMEOUT_MS": "30s"})

    assert "SANDBOX_PROBE_TIMEOUT_MS='30s'" in message
    assert "milliseconds" in message


def test_every_bad_value_is_reported_at_once(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("backup_keep = 0\n")

    message = refusal(
        {"SANDBOX_SELF_HEAL": "maybe", "CLAUDE_SANDBOX_NAME": "a b"},
        {"runtime": "podman"},
        str(config),
    )

    assert "SANDBOX_SELF_HEAL='maybe'" in message
    assert "true/false" in message
    assert "CLAUDE_SANDBOX_NAME='a b'" in message
    assert "--runtime 'podman'" in message
    assert "docker, sbx, sim" in message
    assert f"backup_keep = 0 in {config}" in message


def test_a_relative_workspace_is_refused_naming_the_variable() -> None:
    message = refusal({"BOT_RUNTIME_DIR": "projects/bot"})

    assert "BOT_RUNTIME_DIR='projects/bot'" in message
    assert "absolute" in message


def test_a_tilde_is_expanded_in_paths_and_the_workspace() -> None:
    settings = load(
        {
            "BOT_RUNTIME_DIR": "~/bot",
            "SANDBOX_TEMPLATE_BACKUP_DIR": "~/backups/",
            "SANDWARDEN_STATE_DIR": "~",
        },
    )

    assert settings.workspace == Workspace(f"{HOME}/bot")
    assert settings.backup_dir == f"{HOME}/backups"
    assert settings.state_dir == HOME


def test_a_relative_state_directory_is_refused() -> None:
    message = refusal({"SANDWARDEN_STATE_DIR": "state"})

    assert "SANDWARDEN_STATE_DIR='state'" in message


def test_a_program_is_a_bare_name_or_an_absolute_path() -> None:
    assert load({"SANDWARDEN_DOCKER": "docker2"}).docker == "docker2"
    assert load({"SANDWARDEN_SBX": "/opt/sbx"}).sbx == "/opt/sbx"
    assert "SANDWARDEN_SBX" in refusal({"SANDWARDEN_SBX": "bin/sbx"})


def test_an_empty_variable_counts_as_unset(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('model = "opus"\n')

    settings = load({"SANDBOX_CLAUDE_MODEL": ""}, config_file=str(config))

    assert settings.model == "opus"


def test_toml_values_may_be_native_or_text(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "allow_api_key_auth = true\n"
        'parity = "on"\n'
        "prompt_timeout_ms = 120000\n"
        'resume_timeout_ms = "90000"\n'
        'log_level = "DEBUG"\n',
    )

    settings = load(config_file=str(config))

    assert settings.allow_api_key_auth is True
    assert settings.parity is True
    assert settings.prompt_timeout == 120.0
    assert settings.resume_timeout == 90.0
    assert settings.log_level is LogLevel.DEBUG


def test_a_toml_value_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("probe_timeout_ms = 1.5\nself_heal = 1\nsandbox = 3\n")

    message = refusal(config_file=str(config))

    assert "probe_timeout_ms = 1.5" in message
    assert "self_heal = 1" in message
    assert "sandbox = 3" in message


def test_text_with_braces_is_kept_as_written() -> None:
    prompt = "Answer in {json} with {cwd} untouched"

    settings = load({"SANDWARDEN_SYSTEM_PROMPT": prompt})

    assert settings.system_prompt == prompt


def test_zero_turns_the_probe_cache_off_but_is_no_timeout() -> None:
    assert load({"SANDWARDEN_PROBE_CACHE_MS": "0"}).probe_cache == 0.0
    assert "SANDBOX_PROBE_TIMEOUT_MS='0'" in refusal(
        {"SANDBOX_PROBE_TIMEOUT_MS": "0"},
    )


def test_a_misspelt_variable_is_warned_about() -> None:
    settings = load({"SANDBOX_SELF_HEALL": "false", "SANDWARDEN_RUN": "x"})

    assert settings.self_heal is True
    assert settings.warnings == (
        "SANDBOX_SELF_HEALL is not a setting; did you mean SANDBOX_SELF_HEAL?",
    )


def test_secret_looking_names_are_recognised() -> None:
    assert is_secret_name("ANTHROPIC_API_KEY")
    assert is_secret_name("github_token")
    assert is_secret_name("SANDWARDEN_WEBHOOK_SECRET")
    assert is_secret_name("CLAUDE_CODE_OAUTH_TOKEN")
    assert not is_secret_name("SANDBOX_SELF_HEAL_TEMPLATE")
    assert not is_secret_name("SANDBOX_ALLOW_API_KEY_AUTH")
    assert mask("sk-ant-123") == "********"
    assert mask(None) == ""


def test_a_setting_named_like_a_key_is_secret() -> None:
    model = next(spec for spec in SETTINGS if spec.key == "model")
    api_key = dataclasses.replace(
        model, attr="api_key", key="api_key", env="ANTHROPIC_API_KEY"
    )

    assert api_key.is_secret()
    assert dataclasses.replace(model, secret=True).is_secret()
    assert not any(spec.is_secret() for spec in SETTINGS)


_TRUE = ["true", "1", "yes", "on"]
_FALSE = ["false", "0", "no", "off"]


@given(
    word=st.sampled_from(_TRUE + _FALSE),
    flips=st.lists(st.booleans(), min_size=5, max_size=5),
)
def test_booleans_are_read_in_any_case(word: str, flips: list[bool]) -> None:
    spelled = "".join(
        c.upper() if flip else c for c, flip in zip(word, flips, strict=False)
    )

    settings = load({"SANDBOX_SELF_HEAL": f" {spelled} "})

    assert settings.self_heal is (word in _TRUE)


@given(ms=st.integers(1, 2**31 - 1))
def test_milliseconds_become_seconds(ms: int) -> None:
    settings = load({"SANDBOX_HEALTH_WATCHDOG_INTERVAL_MS": str(ms)})

    assert settings.watchdog_interval == ms / 1000


@given(
    name=st.sampled_from([spec.env for spec in SETTINGS]),
    value=st.text(max_size=30),
)
def test_any_text_in_any_variable_is_accepted_or_refused_by_name(
    name: str,
    value: str,
) -> None:
    result = load_settings({name: value}, {}, CWD, HOME)

    if not is_successful(result):
        assert name in result.failure().message
