from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.classify import TOOL_SYMPTOMS, Context, classify
from sandwarden.domain.errors import ErrorKind, UnavailableReason

AUTH = ErrorKind.AUTH
UNAVAILABLE = ErrorKind.SANDBOX_UNAVAILABLE
SESSION = ErrorKind.SESSION_NOT_FOUND
R = UnavailableReason


def result_line(
    *,
    is_error: bool,
    subtype: str = "success",
    result: str | None = None,
    errors: tuple[str, ...] = (),
    api_error_status: int | None = None,
) -> str:
    """One `result` event as the CLI prints it (stream reference §4)."""
    event: dict[str, object] = {
        "type": "result",
        "subtype": subtype,
        "is_error": is_error,
        "duration_ms": 120,
        "duration_api_ms": 0,
        "num_turns": 0,
        "session_id": "4f1c2a9e-0b7d-4c1e-9a55-1f0e2d3c4b5a",
        "total_cost_usd": 0,
    }
    if result is not None:
        event["result"] = result
    if errors:
        event["errors"] = list(errors)
    if api_error_status is not None:
        event["api_error_status"] = api_error_status

    return json.dumps(event) + "\n"


def failed_result(sentence: str, status: int | None = None) -> str:
    """A failed turn: a `success` result with is_error true."""
    return result_line(is_error=True, result=sentence, api_error_status=status)


@dataclass(frozen=True)
class Case:
    """One row of a reference error table, and what classify must say."""

    source: str
    context: Context
    exit_code: int | None
    stdout: str
    stderr: str
    kind: ErrorKind | None
    reason: UnavailableReason | None = None


def on_stderr(
    source: str,
    text: str,
    kind: ErrorKind | None,
    reason: UnavailableReason | None = None,
    *,
    context: Context = Context.TOOL,
    exit_code: int | None = 1,
) -> Case:
    return Case(source, context, exit_code, "", text, kind, reason)


def as_result(
    source: str,
    stdout: str,
    kind: ErrorKind,
    context: Context = Context.PROMPT,
    stderr: str = "",
) -> Case:
    return Case(source, context, 1, stdout, stderr, kind)


# claude-cli-stream.md §6, "Error texts (exact strings)", row by row.
CLAUDE_ROWS = [
    as_result(
        "claude §6 no credential (2.1.x)",
        failed_result("Not logged in · Please run /login"),
        AUTH,
    ),
    as_result(
        "claude §6 same, older CLIs (1.0.x)",
        failed_result("Invalid API key · Please run /login"),
        AUTH,
    ),
    as_result(
        "claude §6 bad ANTHROPIC_API_KEY / apiKeyHelper key",
        failed_result("Invalid API key · Fix external API key", 401),
        AUTH,
    ),
    as_result(
        "claude §6 OAuth revoked",
        failed_result("OAuth token revoked · Please run /login"),
        AUTH,
    ),
    as_result(
        "claude §6 OAuth expired",
        failed_result("OAuth token has expired · Please run /login"),
        AUTH,
        Context.RESUME,
    ),
    as_result(
        "claude §6 API said 401 authentication_error",
        failed_result("API Error: 401 authentication_error", 401),
        AUTH,
    ),
    as_result(
        "claude §6 same, raw form seen in reports",
        failed_result(
            'Failed to authenticate. API Error: 401 {"type":"error","error":'
            '{"type":"authentication_error","message":"OAuth token has '
            "expired. Please obtain a new token or refresh your existing "
            'token."},"request_id":"req_01"} · Please run /login',
        ),
        AUTH,
    ),
    as_result(
        "claude §6 saved login could not be refreshed (-p)",
        failed_result(
            "Failed to authenticate: OAuth session expired and could not "
            "be refreshed",
        ),
        AUTH,
    ),
    as_result(
        "claude §6 revoked account/org",
        failed_result(
            "Please run /login · API Error: 401 Invalid authentication "
            "credentials",
        ),
        AUTH,
    ),
    on_stderr(
        "claude §6 no credential at API client",
        "Could not resolve authentication method. Expected one of apiKey, "
        "authToken, credentials, config, or profile to be set.",
        AUTH,
        context=Context.PROMPT,
    ),
    as_result(
        "claude §6 apiKeyHelper broken",
        failed_result("Your apiKeyHelper script is failing"),
        AUTH,
    ),
    as_result(
        "claude §6 plan usage limit (session)",
        failed_result("You've hit your session limit · resets 3:45pm", 429),
        ErrorKind.USAGE_LIMIT,
    ),
    as_result(
        "claude §6 plan usage limit (weekly)",
        failed_result("You've hit your weekly limit · resets Mon 12:00am"),
        ErrorKind.USAGE_LIMIT,
    ),
    as_result(
        "claude §6 plan usage limit (Opus)",
        failed_result("You've hit your Opus limit · resets 5pm"),
        ErrorKind.USAGE_LIMIT,
    ),
    on_stderr(
        "claude §6 same, other renderings (text output)",
        "You've hit your limit · resets 1pm (Europe/Lisbon)",
        ErrorKind.USAGE_LIMIT,
        context=Context.PROMPT,
    ),
    on_stderr(
        "claude §6 same, older rendering",
        "Claude AI usage limit reached|1767225600",
        ErrorKind.USAGE_LIMIT,
        context=Context.PROMPT,
    ),
    as_result(
        "claude §6 server throttle (not quota)",
        failed_result(
            "API Error: Server is temporarily limiting requests (not your "
            "usage limit)",
        ),
        ErrorKind.API_ERROR,
    ),
    as_result(
        "claude §6 429 on key/project",
        failed_result(
            "API Error: Request rejected (429) · this may be a temporary "
            "capacity issue. If it persists, check https://status.claude.com.",
            429,
        ),
        ErrorKind.API_ERROR,
    ),
    as_result(
        "claude §6 prepaid credit exhausted",
        failed_result("Credit balance is too low"),
        ErrorKind.USAGE_LIMIT,
    ),
    on_stderr(
        "claude §6 same, raw API 400",
        "Your credit balance is too low to access the Anthropic API. "
        "Please go to Plans & Billing to upgrade or purchase credits.",
        ErrorKind.USAGE_LIMIT,
        context=Context.PROMPT,
    ),
    as_result(
        "claude §6 overload",
        failed_result("API Error: Repeated 529 Overloaded errors", 529),
        ErrorKind.API_ERROR,
    ),
    as_result(
        "claude §6 5xx",
        failed_result("API Error: 500 Internal server error", 500),
        ErrorKind.API_ERROR,
    ),
    as_result(
        "claude §6 request timed out",
        failed_result("Request timed out"),
        ErrorKind.API_ERROR,
    ),
    as_result(
        "claude §6 unknown resume id",
        result_line(
            is_error=True,
            subtype="error_during_execution",
            errors=("No conversation found with session ID: 4f1c2a9e",),
        ),
        SESSION,
        Context.RESUME,
        stderr="No conversation found with session ID: 4f1c2a9e\n",
    ),
    on_stderr(
        "claude §6 resume transcript unreadable",
        "Failed to resume the conversation.\nRun claude --resume "
        "<session-id> to retry, or claude to start a new session.",
        SESSION,
        context=Context.RESUME,
    ),
    on_stderr(
        "claude §6 bad --resume value with -p",
        "Error: --resume requires a valid session ID or session title when "
        "used with --print. Usage: claude -p --resume <session-id|title>. "
        'Provided value "x" is not a UUID and does not match any session '
        "title.",
        SESSION,
        context=Context.RESUME,
    ),
    on_stderr(
        "claude §6 stream-json without --verbose",
        "Error: When using --print, --output-format=stream-json requires "
        "--verbose",
        ErrorKind.INVALID_INPUT,
        context=Context.PROMPT,
    ),
    on_stderr(
        "claude §6 no prompt",
        "Error: Input must be provided either through stdin or as a prompt "
        "argument when using --print",
        ErrorKind.INVALID_INPUT,
        context=Context.PROMPT,
    ),
    as_result(
        "claude §6 max turns",
        result_line(
            is_error=True,
            subtype="error_max_turns",
            errors=("Reached maximum number of turns (3)",),
        ),
        ErrorKind.MAX_TURNS,
    ),
    on_stderr(
        "claude §6 invalid --json-schema (unknown stays unknown)",
        "Error: --json-schema is not a valid JSON Schema",
        ErrorKind.UNKNOWN,
        context=Context.PROMPT,
    ),
]

# docker-sandbox-cli.md §4, "Error messages and exit codes", row by row.
DOCKER_ROWS = [
    on_stderr(
        "docker §4 plugin missing (docs heading)",
        "docker: 'sandbox' is not a docker command.\nSee 'docker --help'",
        UNAVAILABLE,
        R.PLUGIN_MISSING,
    ),
    on_stderr(
        "docker §4 plugin missing (4.55 user)",
        "unknown command: docker sandbox",
        UNAVAILABLE,
        R.PLUGIN_MISSING,
        context=Context.PROBE,
    ),
    on_stderr(
        "docker §4 beta/AI features disabled",
        "check feature is enabled: sorry, this feature is not available yet",
        UNAVAILABLE,
        R.FEATURE_DISABLED,
    ),
    on_stderr(
        "docker §4 unknown flag",
        "unknown flag: --name\n\nUsage:  docker sandbox\nRun 'docker "
        "sandbox --help' for more information",
        ErrorKind.UNSUPPORTED_OPTION,
        exit_code=125,
    ),
    on_stderr(
        "docker §4 workspace omitted (G1)",
        "agent 'claude' requires a workspace path",
        ErrorKind.INVALID_INPUT,
    ),
    on_stderr(
        "docker §4 VM create failure",
        "failed to create sandbox: create/start VM: POST VM create failed: "
        'status 500: {"message":"disk full"}',
        UNAVAILABLE,
        R.CREATE_FAILED,
    ),
    on_stderr(
        "docker §4 unsupported host",
        "failed to create sandbox: starting LinuxKit VM: OS and "
        "architecture not supported: linux/arm64",
        UNAVAILABLE,
        R.CREATE_FAILED,
    ),
    on_stderr(
        "docker §4 stale VM",
        "failed to start VM: create SDK client: socket path is empty",
        UNAVAILABLE,
        R.WEDGED,
        context=Context.PROMPT,
    ),
    on_stderr(
        "docker §4 template lacks agent (G1)",
        'agent binary "claude" not found in sandbox: verify this is the '
        "correct sandbox type",
        UNAVAILABLE,
        R.CREATE_FAILED,
    ),
    on_stderr(
        "docker §4 template lacks agent (G0)",
        "The claude binary was not found in the sandbox; please check this "
        "is the correct sandbox for this agent.",
        UNAVAILABLE,
        R.CREATE_FAILED,
    ),
    on_stderr(
        "docker §4 missing positional (G0)",
        "docker: 'docker sandbox run' requires at least 1 argument",
        ErrorKind.INVALID_INPUT,
    ),
    on_stderr(
        "docker §4 sandbox not found",
        "no sandbox found in 'bot-sandbox'",
        UNAVAILABLE,
        R.NOT_FOUND,
        context=Context.PROBE,
    ),
    on_stderr(
        "docker §4 claude not logged in",
        "Not logged in · Please run /login",
        AUTH,
        context=Context.PROBE,
    ),
    on_stderr(
        "docker §4 Docker Desktop died mid-call",
        "io: read/write on closed pipe",
        UNAVAILABLE,
        R.DAEMON_DOWN,
        context=Context.PROMPT,
    ),
]

# sbx-cli.md §3, "Errors, prefixes, exit codes", row by row.
SBX_ROWS = [
    on_stderr(
        "sbx §3 exec on unknown sandbox",
        "ERROR: no sandbox named 'none'\n\nTo create one:\n  sbx create "
        "AGENT WORKSPACE",
        UNAVAILABLE,
        R.NOT_FOUND,
        context=Context.PROMPT,
    ),
    on_stderr(
        "sbx §3 rm/other on unknown sandbox",
        "ERROR: remove bot-sandbox: not found",
        UNAVAILABLE,
        R.NOT_FOUND,
    ),
    on_stderr(
        "sbx §3 ditto (third-party fixture)",
        "Error: sandbox 'sandbox-17' not found (run 'sbx ls' to see your "
        "sandboxes)",
        UNAVAILABLE,
        R.NOT_FOUND,
    ),
    on_stderr(
        "sbx §3 unknown flag",
        "ERROR: unknown flag: --json",
        ErrorKind.UNSUPPORTED_OPTION,
    ),
    on_stderr(
        "sbx §3 unknown command",
        "ERROR: sbx: unknown command: sbx diagnosis\n\nUsage:  sbx COMMAND"
        "\n\nRun 'sbx --help' for more information",
        ErrorKind.UNSUPPORTED,
    ),
    on_stderr(
        "sbx §3 duplicate name/workspace",
        'ERROR: sandbox "claude-sandboxes" already exists for this '
        "workspace; use 'sbx run --name claude-sandboxes' to start it, or "
        "pass --name to create another",
        ErrorKind.ALREADY_EXISTS,
    ),
    on_stderr(
        "sbx §3 daemon won't start",
        "ERROR: ensure daemon: daemon failed to start properly after 10 "
        "retries, check logs at: daemon.log",
        UNAVAILABLE,
        R.DAEMON_DOWN,
    ),
    on_stderr(
        "sbx §3 daemon stalled, Ctrl-C",
        "Waiting for the previous sandboxd to exit...\nERROR: ensure "
        "daemon: context canceled",
        UNAVAILABLE,
        R.WEDGED,
    ),
    on_stderr(
        "sbx §3 daemon unreachable",
        "ERROR: failed to list runtimes: list runtimes: send request: Get "
        '"http://socket/runtime": net/http: request canceled '
        "(Client.Timeout exceeded while awaiting headers)",
        UNAVAILABLE,
        R.DAEMON_DOWN,
    ),
    on_stderr(
        "sbx §3 not signed in (interactive)",
        "You are not authenticated to Docker. Starting the sign-in flow...",
        UNAVAILABLE,
        R.FEATURE_DISABLED,
    ),
    on_stderr(
        "sbx §3 session expired",
        "ERROR: 401 Unauthorized: docker session has expired: refresh "
        "failed: bad token\nno valid user session found, please sign in to "
        "Docker to proceed",
        UNAVAILABLE,
        R.FEATURE_DISABLED,
        context=Context.PROMPT,
    ),
    on_stderr(
        "sbx §3 session could not be refreshed (offline)",
        "ERROR: your Docker session could not be refreshed due to a "
        "network issue; this should resolve automatically, try again "
        "shortly",
        UNAVAILABLE,
        R.PROBE_FAILED,
    ),
    on_stderr(
        "sbx §3 bad PAT",
        "ERROR: auth login failed: invalid Docker credentials",
        UNAVAILABLE,
        R.FEATURE_DISABLED,
    ),
    on_stderr(
        "sbx §3 clock skew (not Claude's token)",
        "ERROR: auth login failed: completing login: token has invalid "
        "claims: token is expired",
        UNAVAILABLE,
        R.FEATURE_DISABLED,
        context=Context.PROBE,
    ),
    on_stderr(
        "sbx §3 VM start failure",
        "ERROR: failed to start sandbox: start runtime: request failed: 500 "
        "Internal Server Error: failed to start runtime",
        UNAVAILABLE,
        R.NOT_RUNNING,
        context=Context.PROMPT,
    ),
    on_stderr(
        "sbx §3 create failure",
        "ERROR: failed to create sandbox: request failed: 500 Internal "
        "Server Error: failed to run sandbox container",
        UNAVAILABLE,
        R.CREATE_FAILED,
    ),
    on_stderr(
        "sbx §3 create failure (v0.43.0 variant)",
        "WARN: mcp gateway teardown\nERROR: failed to create sandbox: "
        "failed to run sandbox container",
        UNAVAILABLE,
        R.CREATE_FAILED,
    ),
    on_stderr(
        "sbx §3 template save failure",
        "ERROR: save template: request failed: 500 Internal Server Error: "
        "failed to commit container",
        ErrorKind.UNKNOWN,
        context=Context.IMAGE,
    ),
    on_stderr(
        "sbx §3 kit name = built-in",
        'ERROR: agent "kiro" is already registered (built-in agents cannot '
        "be overridden by a kit)",
        ErrorKind.UNKNOWN,
    ),
    on_stderr(
        "sbx §3 kit source blocked",
        'ERROR: resolve kits: kit "x" cannot be installed — its source is '
        "not in your allowlist.",
        ErrorKind.UNKNOWN,
    ),
    on_stderr(
        "sbx §3 --clone outside git",
        "ERROR: --clone requires a Git repository, but /srv/x is not in a "
        "Git repository",
        ErrorKind.UNKNOWN,
    ),
    on_stderr(
        "sbx §3 template/agent mismatch (a warning, exit 0)",
        '⚠ WARNING: template "my-template:v1" was built for the "claude" '
        'agent but you are using "codex".',
        None,
        exit_code=0,
    ),
    on_stderr(
        "sbx §3 upgrade restart prompt",
        "Docker Sandboxes has been updated and needs to restart. Restart "
        "now? (y/N)",
        UNAVAILABLE,
        R.DAEMON_DOWN,
    ),
]

# The specification's §8 pattern table, pattern by pattern.
SPEC_ROWS = [
    *(
        on_stderr(f"spec §8 auth {text!r}", text, AUTH, context=Context.RESUME)
        for text in (
            "not logged in",
            "unauthenticated",
            "authentication required",
            "failed to authenticate",
            "authentication_error",
            "oauth token has expired",
            "token has expired",
        )
    ),
    on_stderr(
        "spec §8 unavailable 'no such container'",
        "Error response from daemon: No such container: bot-sandbox",
        UNAVAILABLE,
        R.NOT_FOUND,
        context=Context.PROMPT,
    ),
    on_stderr(
        "spec §8 unavailable 'is not running'",
        "Error: sandbox bot-sandbox is not running",
        UNAVAILABLE,
        R.NOT_RUNNING,
        context=Context.PROMPT,
    ),
    on_stderr(
        "spec §8 unavailable 'cannot connect to the docker daemon'",
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
        " Is the docker daemon running?",
        UNAVAILABLE,
        R.DAEMON_DOWN,
    ),
    on_stderr(
        "spec §8 unavailable 'cannot connect...' in an image operation",
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.",
        ErrorKind.DESKTOP_REQUIRED,
        context=Context.IMAGE,
    ),
    on_stderr(
        "spec §8 unavailable 'sandbox not found'",
        "Error: sandbox not found",
        UNAVAILABLE,
        R.NOT_FOUND,
        context=Context.PROMPT,
    ),
    on_stderr(
        "spec §8 unavailable 'docker daemon is not running'",
        "error during connect: docker daemon is not running",
        UNAVAILABLE,
        R.DAEMON_DOWN,
    ),
    on_stderr(
        "spec §8 unavailable sandbox '<name>' does not exist",
        "Error: sandbox 'bot-sandbox' does not exist",
        UNAVAILABLE,
        R.NOT_FOUND,
        context=Context.RESUME,
    ),
    *(
        on_stderr(
            f"spec §8 resume {text!r}",
            text,
            SESSION,
            context=Context.RESUME,
        )
        for text in (
            "Error: invalid session",
            "Error: session not found",
            "Error: could not resume",
            "Error: no conversation found",
        )
    ),
    # Timeout, stall and cancellation are the runtime's to report (a
    # `Stop`); a killed process with nothing said is no failure of its own.
    *(
        Case(f"spec §8 {row}", Context.PROMPT, None, "", "", None)
        for row in ("command timeout", "command stalled", "command cancelled")
    ),
    Case(
        "spec §15 workspace path mismatch (probe prints nothing)",
        Context.PROBE,
        0,
        "",
        "",
        UNAVAILABLE,
        R.PROBE_FAILED,
    ),
]

ALL_ROWS = CLAUDE_ROWS + DOCKER_ROWS + SBX_ROWS + SPEC_ROWS


@pytest.mark.parametrize("case", ALL_ROWS, ids=[c.source for c in ALL_ROWS])
def test_every_documented_failure_is_classified(case: Case) -> None:
    result = classify(
        case.exit_code,
        case.stdout.encode(),
        case.stderr.encode(),
        case.context,
    )

    if case.kind is None:
        assert is_successful(result), result
        return
    error = result.failure()
    assert (error.kind, error.reason) == (case.kind, case.reason), error
    assert error.message


# -- stdout before the exit code -----------------------------------------


def test_a_success_result_wins_over_a_non_zero_exit() -> None:
    stdout = result_line(is_error=False, result="Done.")

    result = classify(
        1, stdout.encode(), b"MCP server needs-auth", Context.PROMPT
    )

    assert is_successful(result)


def test_an_error_result_fails_even_with_exit_zero() -> None:
    stdout = failed_result("Not logged in · Please run /login")

    result = classify(0, stdout.encode(), b"", Context.PROMPT)

    assert result.failure().kind is AUTH


def test_a_failed_login_outranks_a_missing_session_in_one_result() -> None:
    stdout = result_line(
        is_error=True,
        subtype="error_during_execution",
        errors=("No conversation found with session ID: x", "Not logged in"),
    )

    result = classify(1, stdout.encode(), b"", Context.RESUME)

    assert result.failure().kind is AUTH


def test_a_login_failure_on_stderr_outranks_the_result_kind() -> None:
    stdout = result_line(
        is_error=True,
        subtype="error_during_execution",
        errors=("No conversation found with session ID: x",),
    )

    result = classify(
        1,
        stdout.encode(),
        b"OAuth token has expired",
        Context.RESUME,
    )

    assert result.failure().kind is AUTH


def test_a_logged_out_probe_is_an_auth_failure_not_unavailability() -> None:
    stdout = (
        '{\n  "loggedIn": false,\n  "authMethod": "none",\n'
        '  "apiProvider": "firstParty"\n}\n'
    )

    result = classify(1, stdout.encode(), b"", Context.PROBE)

    assert result.failure().kind is AUTH


def test_an_expired_login_in_text_fails_the_probe_as_auth() -> None:
    stdout = b"Login method: Claude Max account\nLogin: Expired\n"

    result = classify(1, stdout, b"", Context.PROBE)

    assert result.failure().kind is AUTH


def test_a_logged_in_probe_is_fine() -> None:
    stdout = (
        '{\n  "loggedIn": true,\n  "authMethod": "claude.ai",\n'
        '  "orgName": "No Such Container Ltd"\n}\n'
    )

    assert is_successful(classify(0, stdout.encode(), b"", Context.PROBE))


def test_an_unexplained_probe_failure_is_unavailable_with_evidence() -> None:
    result = classify(2, b"", b"something odd\nlast words", Context.PROBE)

    error = result.failure()
    assert (error.kind, error.reason) == (UNAVAILABLE, R.PROBE_FAILED)
    assert "last words" in error.detail
    assert "exit 2" in error.message


def test_a_probe_that_does_not_know_json_asks_for_a_retry() -> None:
    stderr = b"error: unknown option '--json'\n"

    result = classify(1, b"", stderr, Context.PROBE)

    assert result.failure().kind is ErrorKind.UNSUPPORTED_OPTION


def test_an_unexplained_run_failure_stays_unknown() -> None:
    result = classify(3, b"", b"Segmentation fault", Context.PROMPT)

    error = result.failure()
    assert error.kind is ErrorKind.UNKNOWN
    assert "Segmentation fault" in error.detail


def test_claude_prose_about_docker_is_not_a_docker_failure() -> None:
    answer = {
        "type": "assistant",
        "message": {
            "content": [
                {
                    "type": "text",
                    "text": "Cannot connect to the Docker daemon",
                },
            ],
        },
    }
    stdout = json.dumps(answer) + "\n"

    result = classify(0, stdout.encode(), b"", Context.PROMPT)

    assert is_successful(result)


def test_a_tool_listing_that_succeeded_is_not_searched() -> None:
    stdout = (
        b"SANDBOX   AGENT   STATUS   WORKSPACE\nnot-found claude running /w\n"
    )

    assert is_successful(classify(0, stdout, b"", Context.TOOL))


def test_the_sbx_error_sentence_is_quoted_without_its_prefix() -> None:
    stderr = b"[sbx] ERROR: something new went wrong\n"

    error = classify(1, b"", stderr, Context.TOOL).failure()

    assert error.kind is ErrorKind.UNKNOWN
    assert "something new went wrong" in error.message
    assert "ERROR:" not in error.message


def test_a_missing_sandbox_is_named_with_the_fix() -> None:
    error = classify(
        1,
        b"",
        b"no sandbox found in 'bot-sandbox'",
        Context.TOOL,
    ).failure()

    assert "sandbox 'bot-sandbox' does not exist" in error.message
    assert "sandwarden login" in error.message


def test_a_missing_verbose_flag_is_reported_as_our_bug() -> None:
    stderr = (
        b"Error: When using --print, --output-format=stream-json requires "
        b"--verbose"
    )

    error = classify(1, b"", stderr, Context.PROMPT).failure()

    assert "--verbose" in error.message
    assert "bug" in error.message


def test_undecodable_bytes_are_read_leniently() -> None:
    stderr = b"\xff\xfeno sandbox found in 'x'\xff"

    error = classify(1, b"\xc3", stderr, Context.TOOL).failure()

    assert error.reason is R.NOT_FOUND


def test_every_symptom_has_a_message_that_formats() -> None:
    for symptom in TOOL_SYMPTOMS:
        text = symptom.message.format(sandbox="sandbox 'x'", line="a line")

        assert "{" not in text, symptom.pattern.pattern


# -- properties --------------------------------------------------------------

AUTH_TEXTS = (
    "Not logged in · Please run /login",
    "OAuth token has expired · Please run /login",
    "Failed to authenticate: OAuth session expired and could not be refreshed",
    "API Error: 401 authentication_error",
    "Invalid API key · Please run /login",
    "unauthenticated",
)
UNAVAILABLE_TEXTS = (
    "no sandbox found in 'bot'",
    "Error: sandbox 'bot' does not exist",
    "ERROR: no sandbox named 'bot'",
    "Error response from daemon: No such container: bot",
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.",
    "docker daemon is not running",
    "sandbox bot is not running",
    "docker: 'sandbox' is not a docker command.",
    "check feature is enabled: sorry, this feature is not available yet",
    "failed to start VM: create SDK client: socket path is empty",
    "ERROR: 401 Unauthorized: docker session has expired: refresh failed",
    "ERROR: ensure daemon: daemon failed to start properly",
)
RESUME_TEXTS = (
    "No conversation found with session ID: 4f1c2a9e",
    "Error: invalid session",
    "session not found",
    "could not resume",
    "Failed to resume the conversation.",
)
NOISE_TEXTS = ("", "Warning: slow disk", "[SandboxDebug] tick", "WARN: hm")


@st.composite
def mixed_outputs(
    draw: st.DrawFn,
) -> tuple[Context, int | None, str, str, set[str]]:
    """Known texts of several classes, shuffled over stdout and stderr."""
    context = draw(st.sampled_from(Context))
    exit_code = draw(st.sampled_from([None, 0, 1, 2, 125, 137]))
    lines: list[tuple[str, str]] = []
    for label, texts in (
        ("auth", AUTH_TEXTS),
        ("unavailable", UNAVAILABLE_TEXTS),
        ("resume", RESUME_TEXTS),
        ("noise", NOISE_TEXTS),
    ):
        chosen = draw(st.lists(st.sampled_from(texts), max_size=2))
        lines += [(label, text) for text in chosen]
    lines = draw(st.permutations(lines))
    on_stdout = draw(st.lists(st.booleans(), min_size=len(lines)))
    # A tool that succeeded printed data on stdout; only stderr speaks.
    stdout_read = not (
        context in {Context.TOOL, Context.IMAGE} and exit_code == 0
    )
    out: list[str] = []
    err: list[str] = []
    seen: set[str] = set()
    for (label, text), to_stdout in zip(lines, on_stdout, strict=False):
        (out if to_stdout else err).append(text)
        if stdout_read or not to_stdout:
            seen.add(label)

    return context, exit_code, "\n".join(out), "\n".join(err), seen


@given(mixed_outputs())
def test_auth_outranks_unavailable_outranks_resume(
    drawn: tuple[Context, int | None, str, str, set[str]],
) -> None:
    context, exit_code, out, err, seen = drawn
    assume(seen & {"auth", "unavailable", "resume"})

    error = classify(exit_code, out.encode(), err.encode(), context).failure()

    if "auth" in seen:
        assert error.kind is AUTH
    elif "unavailable" in seen:
        assert error.kind in {UNAVAILABLE, ErrorKind.DESKTOP_REQUIRED}
        assert (error.kind is ErrorKind.DESKTOP_REQUIRED) <= (
            context is Context.IMAGE
        )
    else:
        assert error.kind is SESSION


@given(
    st.none() | st.integers(-1, 255),
    st.binary(max_size=300),
    st.binary(max_size=300),
    st.sampled_from(Context),
)
def test_classify_never_raises_and_always_explains(
    exit_code: int | None,
    stdout: bytes,
    stderr: bytes,
    context: Context,
) -> None:
    result = classify(exit_code, stdout, stderr, context)

    if not is_successful(result):
        assert result.failure().message


@given(st.sampled_from(Context), st.sampled_from(NOISE_TEXTS))
def test_a_clean_exit_with_harmless_output_is_fine(
    context: Context,
    noise: str,
) -> None:
    assume(context is not Context.PROBE or noise)

    result = classify(0, noise.encode(), b"", context)

    assert is_successful(result)


def test_a_long_sentence_is_shortened_in_the_message_not_the_detail() -> None:
    sentence = "API Error: 500 " + "x" * 5000
    stdout = failed_result(sentence, 500)

    error = classify(1, stdout.encode(), b"", Context.PROMPT).failure()

    assert error.kind is ErrorKind.API_ERROR
    assert len(error.message) < 600
    assert "x" * 1000 in error.detail


@given(
    st.sampled_from([Context.PROMPT, Context.RESUME]),
    st.none() | st.integers(0, 255),
    st.lists(
        st.sampled_from(
            AUTH_TEXTS + UNAVAILABLE_TEXTS + RESUME_TEXTS + NOISE_TEXTS,
        ),
        max_size=3,
    ),
)
def test_a_success_result_decides_whatever_else_was_said(
    context: Context,
    exit_code: int | None,
    stderr_lines: list[str],
) -> None:
    stdout = result_line(is_error=False, result="All done.")

    result = classify(
        exit_code,
        stdout.encode(),
        "\n".join(stderr_lines).encode(),
        context,
    )

    assert is_successful(result)


def test_a_taken_name_wrapped_in_a_create_failure_is_already_exists() -> None:
    stderr = b"failed to create sandbox: sandbox 'main' already exists\n"

    error = classify(1, b"", stderr, Context.TOOL).failure()

    assert error.kind is ErrorKind.ALREADY_EXISTS
