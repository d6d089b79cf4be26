import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandwarden.domain.claude_texts import (
    AUTH_PHRASES,
    SESSION_MISSING_PHRASES,
    is_api_error,
    is_auth_failure,
    is_session_missing,
    is_throttled,
    is_usage_limit,
    is_verbose_missing,
)


@pytest.mark.parametrize(
    "text",
    [
        "Not logged in · Please run /login",
        "Invalid API key · Please run /login",
        "Invalid API key · Fix external API key",
        "OAuth token revoked · Please run /login",
        "OAuth token has expired · Please run /login",
        'Failed to authenticate. API Error: 401 {"type":"error","error":'
        '{"type":"authentication_error","message":"OAuth token expired"}}',
        "Failed to authenticate: OAuth session expired and could not be "
        "refreshed",
        "Please run /login · API Error: 401 Invalid authentication "
        "credentials",
        "Could not resolve authentication method. Expected one of apiKey, "
        "authToken, credentials, config, or profile to be set.",
        "Your apiKeyHelper script is failing",
        "Login expired · Please run /login",
        "error: UNAUTHENTICATED",
    ],
)
def test_claudes_auth_sentences_are_auth_failures(text: str) -> None:
    assert is_auth_failure(text)


@pytest.mark.parametrize(
    "text",
    [
        "You've hit your session limit · resets 3:45pm",
        "You've hit your weekly limit · resets Mon 12:00am",
        "You've hit your Opus limit · resets 5pm",
        "You've hit your limit · resets 1pm (Europe/Lisbon)",
        "Claude AI usage limit reached|1787410800",
        "Credit balance is too low",
        "Credit balance too low · Add funds: https://platform.claude.com",
    ],
)
def test_quota_sentences_are_usage_limits(text: str) -> None:
    assert is_usage_limit(text)


def test_the_apis_throttle_is_not_a_usage_limit() -> None:
    text = (
        "API Error: Server is temporarily limiting requests "
        "(not your usage limit)"
    )

    assert not is_usage_limit(text)
    assert is_throttled(text)
    assert is_api_error(text)


@pytest.mark.parametrize(
    "text",
    [
        "API Error: Repeated 529 Overloaded errors",
        "API Error: 500 Internal server error",
        "Request timed out",
        "API Error: Request rejected (429) · this may be a temporary "
        "capacity issue.",
    ],
)
def test_api_failures_are_api_errors(text: str) -> None:
    assert is_api_error(text)
    assert not is_auth_failure(text)
    assert not is_usage_limit(text)


@pytest.mark.parametrize(
    "text",
    [
        "No conversation found with session ID: 0badbeef",
        "Failed to resume the conversation.",
        "Error: --resume requires a valid session ID or session title "
        "when used with --print.",
        "invalid session",
        "Session not found",
        "could not resume",
    ],
)
def test_resume_failures_say_the_session_is_missing(text: str) -> None:
    assert is_session_missing(text)
    assert not is_auth_failure(text)


def test_stream_json_without_verbose_is_recognised() -> None:
    text = (
        "Error: When using --print, --output-format=stream-json "
        "requires --verbose"
    )

    assert is_verbose_missing(text)
    assert not is_verbose_missing("--verbose given")


@pytest.mark.parametrize(
    "text",
    [
        "The code word is BANANA.",
        "I logged the results to out.txt",
        "Your session is ready; the limit of 3 files was respected.",
        "",
    ],
)
def test_ordinary_answers_match_no_failure(text: str) -> None:
    assert not is_auth_failure(text)
    assert not is_usage_limit(text)
    assert not is_api_error(text)
    assert not is_session_missing(text)
    assert not is_verbose_missing(text)


@given(
    phrase=st.sampled_from(AUTH_PHRASES + SESSION_MISSING_PHRASES),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
    upper=st.booleans(),
)
def test_phrases_match_in_any_case_anywhere(
    phrase: str,
    before: str,
    after: str,
    upper: bool,
) -> None:
    text = before + (phrase.upper() if upper else phrase) + after

    assert is_auth_failure(text) or is_session_missing(text)
