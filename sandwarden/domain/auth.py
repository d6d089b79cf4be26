"""
Claude's login, as `claude auth status` reports it, and the billing guard.

`claude auth status` has printed three shapes over the CLI's life: JSON
by default (2.1.41 and later; some releases needed `--json`), plain text
(`--text`, or CLIs that lack `--json`), and, on a logged-out CLI, JSON on
stdout together with exit code 1. The parser reads all of them and
decides on what the output says, never on the exit code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import ErrorKind, WardenError

__all__ = [
    "UNSUPPORTED_OPTION",
    "AuthStatus",
    "check_api_key_source",
    "check_billing",
    "find_json_object",
    "is_unsupported_option",
    "parse_auth_status",
]

# Enough of a tool's output to recognise it again in a log.
_EVIDENCE_CHARS = 2000

#: A CLI refusing an option it does not know (commander, cobra, argparse,
#: Go's flag package, clap); ``flag`` captures the option when printed.
UNSUPPORTED_OPTION = re.compile(
    r"(?:unknown (?:shorthand )?(?:option|flag)"
    r"|unrecognized (?:option|arguments?)"
    r"|flag provided but not defined"
    r"|unexpected argument)"
    r":?\s*['\"]?(?P<flag>-[^\s'\"]*)?",
    re.IGNORECASE,
)

_API_KEY_METHOD = re.compile(r"api[_-]?key", re.IGNORECASE)
_FIRST_PARTY = re.compile(r"first[_-]?party", re.IGNORECASE)
_THIRD_PARTY = re.compile(r"third[_-]?party", re.IGNORECASE)

_TEXT_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*?)\s*$")
_NOT_LOGGED_IN = re.compile(r"\bnot logged in\b", re.IGNORECASE)
_LOGGED_IN = re.compile(r"^\s*logged in\b", re.IGNORECASE | re.MULTILINE)
_EXPIRED = re.compile(r"expired", re.IGNORECASE)
_PLAN = re.compile(
    r"\bclaude\s+(max|pro|team|enterprise)\b",
    re.IGNORECASE,
)
_CLOUD = re.compile(r"\b(bedrock|vertex|foundry)\b", re.IGNORECASE)
# A Console login is an API key the CLI manages ("/login managed key").
_CONSOLE = re.compile(r"\bconsole\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AuthStatus:
    """
    What `claude auth status` said about the login inside a sandbox.

    ``logged_in`` means a credential is configured, not that it works;
    a dead token shows up as an auth failure of the next run.
    """

    logged_in: bool
    auth_method: str | None = None
    api_provider: str | None = None
    api_key_source: str | None = None
    email: str | None = None
    org_name: str | None = None
    subscription_type: str | None = None


def parse_auth_status(
    stdout: str,
    stderr: str,
    exit_code: int,
) -> Result[AuthStatus, WardenError]:
    """
    Read the output of `claude auth status`, in any of its shapes.

    A logged-out CLI is a ``Success`` with ``logged_in`` false. A CLI that
    does not know an option fails with ``unsupported_option`` so that the
    caller can ask again without `--json`; output that is neither JSON
    nor the text form fails as ``unknown`` with the output as evidence.
    """
    document = find_json_object(stdout)
    if document is not None and isinstance(document.get("loggedIn"), bool):
        return Success(_status_from_json(document))

    both = f"{stdout}\n{stderr}"
    if is_unsupported_option(both):
        return Failure(
            WardenError(
                ErrorKind.UNSUPPORTED_OPTION,
                "this claude CLI does not know an option of `claude auth "
                "status`; ask again without `--json`",
                detail=_evidence(stdout, stderr, exit_code),
            ),
        )

    status = _status_from_text(both)
    if status is not None:
        return Success(status)

    return Failure(
        WardenError(
            ErrorKind.UNKNOWN,
            "`claude auth status` printed neither JSON with 'loggedIn' "
            "nor the text form ('Login method: ...', 'Not logged in'); "
            "the claude CLI may be older than 2.1.41 or missing, or the "
            "sandbox workspace may not match",
            detail=_evidence(stdout, stderr, exit_code),
        ),
    )


def check_billing(
    status: AuthStatus,
    allow_api_key: bool,
) -> Result[AuthStatus, WardenError]:
    """
    Refuse a login that bills an API account instead of the subscription.

    An API-key or third-party login method, an API key source other
    than ``none`` or a provider other than first party is refused unless
    ``allow_api_key``; a third-party method is refused even when the
    provider is not reported. Whether the login works at all is not this
    function's question.
    """
    if allow_api_key:
        return Success(status)

    found: list[str] = []
    method = status.auth_method
    if method and (
        _API_KEY_METHOD.search(method) or _THIRD_PARTY.search(method)
    ):
        found.append(f"login method {method!r}")
    if status.api_key_source and not _is_none(status.api_key_source):
        found.append(f"API key source {status.api_key_source!r}")
    if status.api_provider and not _FIRST_PARTY.fullmatch(
        status.api_provider,
    ):
        found.append(f"API provider {status.api_provider!r}")
    if found:
        return Failure(_billing_error(", ".join(found)))

    return Success(status)


def check_api_key_source(
    source: str | None,
    allow_api_key: bool,
) -> Result[None, WardenError]:
    """
    Refuse the ``apiKeySource`` of a run's init event unless it is none.

    Claude reports ``none`` for a claude.ai login, a bearer token and a
    cloud provider alike; anything else is an API key paying for the run.
    """
    if allow_api_key or source is None or _is_none(source):
        return Success(None)

    return Failure(_billing_error(f"API key source {source!r}"))


def is_unsupported_option(text: str) -> bool:
    """Tell whether a CLI complained about an option it does not know."""
    return UNSUPPORTED_OPTION.search(text) is not None


def find_json_object(text: str) -> dict[str, object] | None:
    """
    Return the first JSON object in ``text``, skipping banner lines.

    Tools print banners before their JSON (the sbx daemon start notice,
    a CLI's update hint); the object may be pretty-printed over lines.
    """
    decoder = json.JSONDecoder()
    start = 0
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("{"):
            offset = start + len(line) - len(line.lstrip())
            try:
                value, _ = decoder.raw_decode(text, offset)
            except ValueError:
                value = None
            if isinstance(value, dict):
                return value
        start += len(line)

    return None


def _status_from_json(document: Mapping[str, object]) -> AuthStatus:
    def text(key: str) -> str | None:
        value = document.get(key)
        return value if isinstance(value, str) else None

    return AuthStatus(
        logged_in=document["loggedIn"] is True,
        auth_method=text("authMethod"),
        api_provider=text("apiProvider"),
        api_key_source=text("apiKeySource"),
        email=text("email"),
        org_name=text("orgName"),
        subscription_type=text("subscriptionType"),
    )


def _status_from_text(text: str) -> AuthStatus | None:
    """Read the `--text` form: `Label: value` lines, or `Not logged in`."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        found = _TEXT_LINE.match(line)
        if found:
            fields.setdefault(found[1].lower(), found[2])

    method = fields.get("login method") or fields.get("auth method")
    login = fields.get("login", "")
    logged_out = _NOT_LOGGED_IN.search(text) is not None or bool(
        _EXPIRED.search(login),
    )
    # Real 2.1.x CLIs answer a credential from the environment with one
    # line naming its source: `API key: ANTHROPIC_API_KEY` or `Auth
    # token: CLAUDE_CODE_OAUTH_TOKEN` (captured in tests/realcli).
    key_source = fields.get("api key")
    token_source = fields.get("auth token")
    if method is None and key_source is not None:
        method = "API key"
    claims_login = (
        method is not None
        or token_source is not None
        or _LOGGED_IN.search(text)
    )
    if not (claims_login or logged_out):
        return None

    auth_method, plan, cloud = _method_from_text(method)
    if auth_method is None and token_source is not None:
        auth_method = "oauth_token"

    return AuthStatus(
        logged_in=not logged_out,
        auth_method=auth_method,
        api_provider=(
            fields.get("api provider") or fields.get("provider") or cloud
        ),
        api_key_source=fields.get("api key source") or key_source,
        email=fields.get("email"),
        org_name=fields.get("organization") or fields.get("org"),
        subscription_type=fields.get("subscription") or plan,
    )


def _method_from_text(
    method: str | None,
) -> tuple[str | None, str | None, str | None]:
    """
    Map a text login method onto the JSON vocabulary: method, plan, cloud.

    `Claude Max account` is a claude.ai login on the max plan; an API key
    or a Console account becomes ``api_key`` and a cloud provider
    ``third_party`` with that provider, so the billing guard sees them.
    """
    if method is None:
        return None, None, None
    if _API_KEY_METHOD.search(method.replace(" ", "_")) or _CONSOLE.search(
        method,
    ):
        return "api_key", None, None
    cloud = _CLOUD.search(method)
    if cloud:
        return "third_party", None, cloud[1].lower()
    plan = _PLAN.search(method)
    if plan:
        return "claude.ai", plan[1].lower(), None

    return method, None, None


def _is_none(source: str) -> bool:
    return source.strip().lower() == "none"


def _billing_error(found: str) -> WardenError:
    return WardenError(
        ErrorKind.BILLING_GUARD,
        f"Claude in the sandbox would bill an API account, not the "
        f"subscription ({found}); log in again with OAuth (`claude` then "
        f"/login in the sandbox, or `sandwarden login`) and remove the API "
        f"key, or allow API-key billing explicitly with "
        f"SANDBOX_ALLOW_API_KEY_AUTH=true",
        detail=found,
    )


def _evidence(stdout: str, stderr: str, exit_code: int) -> str:
    return (
        f"exit {exit_code}; stdout: {stdout[-_EVIDENCE_CHARS:]!r}; "
        f"stderr: {stderr[-_EVIDENCE_CHARS:]!r}"
    )
