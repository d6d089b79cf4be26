from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.auth import (
    AuthStatus,
    check_api_key_source,
    check_billing,
    find_json_object,
    parse_auth_status,
)
from sandwarden.domain.errors import ErrorKind

# Shapes from the stream reference, §7 (2.1.268 captures and parsers).
LOGGED_IN_CLAUDE_AI = """{
  "loggedIn": true,
  "authMethod": "claude.ai",
  "apiProvider": "firstParty",
  "analyticsDisabled": false,
  "projectsDirectory": "/home/agent/.claude/projects",
  "configDirectory": "/home/agent/.claude",
  "email": "ops@example.com",
  "orgId": "0f3c",
  "orgName": "Example Ops",
  "subscriptionType": "max"
}
"""

LOGGED_OUT = """{
  "loggedIn": false,
  "authMethod": "none",
  "apiProvider": "firstParty",
  "analyticsDisabled": false,
  "projectsDirectory": "/home/agent/.claude/projects",
  "configDirectory": "/home/agent/.claude"
}
"""


def one_line(logged_in: bool, method: str, provider: str) -> str:
    document = {
        "loggedIn": logged_in,
        "authMethod": method,
        "apiProvider": provider,
    }

    return json.dumps(document)


def status_of(stdout: str, stderr: str = "", exit_code: int = 0) -> AuthStatus:
    result = parse_auth_status(stdout, stderr, exit_code)
    assert is_successful(result), result

    return result.unwrap()


def test_a_claude_ai_login_reads_every_documented_key() -> None:
    status = status_of(LOGGED_IN_CLAUDE_AI)

    assert status == AuthStatus(
        logged_in=True,
        auth_method="claude.ai",
        api_provider="firstParty",
        email="ops@example.com",
        org_name="Example Ops",
        subscription_type="max",
    )


def test_logged_out_is_an_answer_although_the_cli_exits_1() -> None:
    status = status_of(LOGGED_OUT, exit_code=1)

    assert status.logged_in is False
    assert status.auth_method == "none"


def test_the_spec_one_line_form_is_read() -> None:
    line = '{"loggedIn": true, "authMethod": "oauth", "apiProvider": "x"}'

    status = status_of(line)

    assert status.logged_in
    assert status.auth_method == "oauth"
    assert status.api_provider == "x"


def test_a_login_claimed_by_json_counts_whatever_the_exit_code() -> None:
    status = status_of(LOGGED_IN_CLAUDE_AI, exit_code=1)

    assert status.logged_in


def test_an_api_key_login_keeps_its_key_source() -> None:
    stdout = json.dumps(
        {
            "loggedIn": True,
            "authMethod": "api_key",
            "apiProvider": "firstParty",
            "apiKeySource": "ANTHROPIC_API_KEY",
        },
        indent=2,
    )

    status = status_of(stdout)

    assert status.auth_method == "api_key"
    assert status.api_key_source == "ANTHROPIC_API_KEY"


def test_an_oauth_token_login_is_read() -> None:
    stdout = one_line(True, "oauth_token", "firstParty")

    assert status_of(stdout).auth_method == "oauth_token"


def test_a_bedrock_login_keeps_its_provider() -> None:
    stdout = one_line(True, "third_party", "bedrock")

    assert status_of(stdout).api_provider == "bedrock"


def test_an_expired_claude_ai_login_is_logged_out() -> None:
    stdout = one_line(False, "claude.ai", "firstParty")

    status = status_of(stdout, exit_code=1)

    assert not status.logged_in
    assert status.auth_method == "claude.ai"


def test_a_banner_line_before_the_json_is_skipped() -> None:
    stdout = "Starting sandboxd daemon...\n" + LOGGED_IN_CLAUDE_AI

    assert status_of(stdout).email == "ops@example.com"


def test_values_of_the_wrong_type_are_dropped_not_trusted() -> None:
    stdout = '{"loggedIn": true, "authMethod": 7, "email": null}'

    status = status_of(stdout)

    assert status == AuthStatus(logged_in=True)


def test_the_text_form_of_a_max_login_is_read() -> None:
    stdout = (
        "Login method: Claude Max account\n"
        "Organization: Example Ops\n"
        "Email: ops@example.com\n"
    )

    status = status_of(stdout)

    assert status == AuthStatus(
        logged_in=True,
        auth_method="claude.ai",
        email="ops@example.com",
        org_name="Example Ops",
        subscription_type="max",
    )


def test_the_text_form_capitalisation_may_vary() -> None:
    status = status_of("login method: Claude Pro Account\n")

    assert status.subscription_type == "pro"


def test_not_logged_in_on_stderr_is_logged_out() -> None:
    status = status_of("", "Not logged in\n", exit_code=1)

    assert status == AuthStatus(logged_in=False)


def test_an_expired_login_in_text_is_logged_out() -> None:
    stdout = (
        "Login method: Claude Max account\nLogin: Expired — log in again\n"
    )

    status = status_of(stdout)

    assert not status.logged_in
    assert status.auth_method == "claude.ai"


def test_an_api_key_in_text_becomes_the_api_key_method() -> None:
    status = status_of("Login method: Anthropic API key\n")

    assert status.auth_method == "api_key"


def test_a_cloud_provider_in_text_becomes_a_third_party_provider() -> None:
    status = status_of("Login method: AWS Bedrock\n")

    assert status.auth_method == "third_party"
    assert status.api_provider == "bedrock"


@pytest.mark.parametrize(
    "stderr",
    [
        "error: unknown option '--json'\n",
        "Error: unknown option --json",
        "unknown flag: --json\n\nUsage:  claude auth status",
    ],
)
def test_an_unknown_option_asks_for_a_retry_without_json(stderr: str) -> None:
    result = parse_auth_status("", stderr, 1)

    assert result.failure().kind is ErrorKind.UNSUPPORTED_OPTION


def test_output_of_neither_shape_fails_with_the_evidence() -> None:
    result = parse_auth_status("Here is a haiku about logins", "", 0)

    error = result.failure()
    assert error.kind is ErrorKind.UNKNOWN
    assert "haiku" in error.detail
    assert "exit 0" in error.detail


def test_empty_output_is_not_taken_for_a_login() -> None:
    result = parse_auth_status("", "", 0)

    assert result.failure().kind is ErrorKind.UNKNOWN


def test_json_without_logged_in_is_not_an_answer() -> None:
    result = parse_auth_status('{"authMethod": "claude.ai"}', "", 0)

    assert result.failure().kind is ErrorKind.UNKNOWN


@given(st.text(), st.text(), st.integers(-255, 255))
def test_parsing_never_raises_on_arbitrary_text(
    stdout: str,
    stderr: str,
    exit_code: int,
) -> None:
    parse_auth_status(stdout, stderr, exit_code)


@given(
    st.booleans(),
    st.dictionaries(
        st.sampled_from(["authMethod", "apiProvider", "email", "orgName"]),
        st.text(),
    ),
    st.sampled_from(["", "banner\n", "Warning: update available\n"]),
)
def test_any_json_answer_is_read_back(
    logged_in: bool,
    fields: dict[str, str],
    banner: str,
) -> None:
    stdout = banner + json.dumps({"loggedIn": logged_in, **fields}, indent=2)

    status = status_of(stdout, exit_code=0 if logged_in else 1)

    assert status.logged_in is logged_in
    assert status.auth_method == fields.get("authMethod")
    assert status.email == fields.get("email")


def test_find_json_object_skips_a_line_that_only_looks_like_json() -> None:
    text = "{not json\n" + '{"a": 1}\n'

    assert find_json_object(text) == {"a": 1}


# -- the billing guard ---------------------------------------------------


def test_a_subscription_login_passes_the_guard() -> None:
    status = status_of(LOGGED_IN_CLAUDE_AI)

    assert check_billing(status, allow_api_key=False).unwrap() is status


@pytest.mark.parametrize(
    ("status", "named"),
    [
        (AuthStatus(True, auth_method="api_key"), "'api_key'"),
        (AuthStatus(True, auth_method="api_key_helper"), "'api_key_helper'"),
        (AuthStatus(True, auth_method="API-KEY"), "'API-KEY'"),
        (
            AuthStatus(True, "claude.ai", "firstParty", "ANTHROPIC_API_KEY"),
            "'ANTHROPIC_API_KEY'",
        ),
        (
            AuthStatus(True, "api_key", "firstParty", "/login managed key"),
            "'/login managed key'",
        ),
        (AuthStatus(True, "third_party", "bedrock"), "'bedrock'"),
        (AuthStatus(True, "third_party", "vertex"), "'vertex'"),
        (AuthStatus(True, "third_party"), "'third_party'"),
        (AuthStatus(True, "third_party", None, "none"), "'third_party'"),
        (AuthStatus(True, "Third-Party", "firstParty"), "'Third-Party'"),
    ],
)
def test_api_billing_is_refused_naming_what_was_found(
    status: AuthStatus,
    named: str,
) -> None:
    error = check_billing(status, allow_api_key=False).failure()

    assert error.kind is ErrorKind.BILLING_GUARD
    assert named in error.message
    assert "SANDBOX_ALLOW_API_KEY_AUTH=true" in error.message
    assert "OAuth" in error.message


@pytest.mark.parametrize(
    "provider", ["firstParty", "first_party", "FIRST-PARTY"]
)
def test_first_party_is_recognised_in_its_spellings(provider: str) -> None:
    status = AuthStatus(True, "claude.ai", provider, "none")

    assert is_successful(check_billing(status, allow_api_key=False))


def test_an_oauth_token_is_subscription_billing() -> None:
    status = AuthStatus(True, "oauth_token", "firstParty", "none")

    assert is_successful(check_billing(status, allow_api_key=False))


def test_api_billing_passes_when_allowed_explicitly() -> None:
    status = AuthStatus(True, "api_key", "bedrock", "ANTHROPIC_API_KEY")

    assert check_billing(status, allow_api_key=True).unwrap() is status


@pytest.mark.parametrize("source", [None, "none", "None"])
def test_an_init_without_a_key_source_passes(source: str | None) -> None:
    assert is_successful(check_api_key_source(source, allow_api_key=False))


@pytest.mark.parametrize(
    "source",
    ["ANTHROPIC_API_KEY", "apiKeyHelper", "/login managed key"],
)
def test_an_init_with_a_key_source_is_refused(source: str) -> None:
    error = check_api_key_source(source, allow_api_key=False).failure()

    assert error.kind is ErrorKind.BILLING_GUARD
    assert source in error.message


def test_an_init_key_source_passes_when_allowed() -> None:
    result = check_api_key_source("ANTHROPIC_API_KEY", allow_api_key=True)

    assert is_successful(result)


@given(
    st.booleans(),
    st.none() | st.text(max_size=20),
    st.none() | st.text(max_size=20),
    st.none() | st.text(max_size=20),
)
def test_the_guard_refuses_exactly_what_the_policy_names(
    logged_in: bool,
    method: str | None,
    provider: str | None,
    source: str | None,
) -> None:
    status = AuthStatus(logged_in, method, provider, source)
    expected_refusal = (
        bool(method and re.search(r"api[_-]?key", method, re.IGNORECASE))
        or bool(source and source.strip().lower() != "none")
        or bool(
            provider
            and not re.fullmatch(r"first[_-]?party", provider, re.IGNORECASE),
        )
    )

    refused = not is_successful(check_billing(status, allow_api_key=False))

    assert refused is expected_refusal
    assert is_successful(check_billing(status, allow_api_key=True))


def test_the_real_text_form_of_an_api_key_login_is_read_and_refused() -> None:
    # captured from claude 2.1.142 and 2.1.332 (tests/realcli/captures)
    status = parse_auth_status("API key: ANTHROPIC_API_KEY\n", "", 0)

    read = status.unwrap()

    assert read.logged_in
    assert read.api_key_source == "ANTHROPIC_API_KEY"
    assert not is_successful(check_billing(read, allow_api_key=False))


def test_the_real_text_form_of_an_oauth_token_is_a_subscription_login() -> (
    None
):
    text = (
        "Anthropic base URL: http://127.0.0.1:1\n"
        "Auth token: CLAUDE_CODE_OAUTH_TOKEN\n"
    )

    read = parse_auth_status(text, "", 0).unwrap()

    assert read.logged_in
    assert read.auth_method == "oauth_token"
    assert is_successful(check_billing(read, allow_api_key=False))
