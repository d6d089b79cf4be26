"""
The Claude CLI inside a simulated sandbox: argv in, a ``Script`` out.

``plan_claude`` reads the argv the adapters pass (``-p``, ``--resume=<id>``,
``--output-format stream-json`` with ``--verbose``,
``--include-partial-messages``, ``--model``, ``--permission-mode``), the
prompt (argv or stdin) and the sandbox's state (login, CLI version,
sessions, queued ``Plan``s), and answers as the real CLI would:

- a run without ``bypassPermissions`` hangs with no output (it waits for
  an approval nobody gives);
- a dead login gives the synthetic ``authentication_failed`` message and
  an ``is_error`` result, exit 1; an API key shows in ``apiKeySource``;
- ``--resume`` of an unknown id gives the one-line
  ``error_during_execution`` result, the same sentence on stderr, exit 1;
- ``auth status`` prints the JSON (or, for old builds, plain) status.

Sessions are created and extended in the sandbox, so resuming works until
the sandbox is removed. The reply echoes the prompt and the earlier
prompts of the session, so a test can check what a resumed run remembers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from sandwarden.domain.sandbox import Stream
from sandwarden.simulator import scripts
from sandwarden.simulator.scripts import Line, Script, Step
from sandwarden.simulator.world import (
    Behaviour,
    LoginState,
    Plan,
    Sandbox,
    Session,
    World,
)

__all__ = ["ClaudeArgs", "auth_failure", "parse_claude_args", "plan_claude"]

_VALUED = frozenset(
    {
        "--output-format",
        "--input-format",
        "--model",
        "--permission-mode",
        "--resume",
        "-r",
        "--session-id",
        "--system-prompt",
        "--append-system-prompt",
        "--max-turns",
        "--max-budget-usd",
        "--fallback-model",
        "--settings",
    },
)
_SWITCHES = frozenset(
    {
        "-p",
        "--print",
        "--verbose",
        "--include-partial-messages",
        "--dangerously-skip-permissions",
        "--fork-session",
        "--no-session-persistence",
        "--json",
        "--text",
        "-v",
        "--version",
    },
)

NOT_LOGGED_IN = "Not logged in · Please run /login"
OAUTH_EXPIRED = "OAuth token has expired · Please run /login"
NEEDS_VERBOSE = (
    "Error: When using --print, --output-format=stream-json requires --verbose"
)
NO_INPUT = (
    "Error: Input must be provided either through stdin or as a prompt "
    "argument when using --print"
)
USAGE_LIMIT = "You've hit your session limit · resets 3:45pm"


@dataclass(frozen=True, slots=True)
class ClaudeArgs:
    """The parts of a claude argv the simulation acts on."""

    words: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    switches: frozenset[str] = frozenset()

    def has(self, *names: str) -> bool:
        """Tell whether any of the switches ``names`` was given."""
        return any(name in self.switches for name in names)

    def value(self, *names: str) -> str | None:
        """The value of the first of the options ``names`` that was given."""
        for name in names:
            if name in self.options:
                return self.options[name]

        return None


def parse_claude_args(argv: Sequence[str]) -> ClaudeArgs | str:
    """Split argv (without ``claude``); a string is the CLI's complaint."""
    words: list[str] = []
    options: dict[str, str] = {}
    switches: set[str] = set()
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        if word == "--":
            words.extend(rest)
            break
        name, equals, inline = word.partition("=")
        if name in _VALUED:
            if not equals and not rest:
                return f"error: option '{name} <value>' argument missing"
            options[name] = inline if equals else rest.pop(0)
        elif word in _SWITCHES:
            switches.add(word)
        elif word.startswith("-") and word != "-":
            return f"error: unknown option '{name}'"
        else:
            words.append(word)

    return ClaudeArgs(tuple(words), options, frozenset(switches))


def plan_claude(
    world: World,
    sandbox: Sandbox,
    argv: Sequence[str],
    *,
    stdin: bytes,
    workdir: str,
    now: float,
) -> Script:
    """
    The script of one ``claude`` invocation inside ``sandbox``.

    ``now`` is wall-clock epoch seconds, for the login's expiry. A prompt
    run takes the first queued plan of the sandbox, or the world's
    default plan.
    """
    parsed = parse_claude_args(argv)
    if isinstance(parsed, str):
        return _complaint(parsed)
    if parsed.has("-v", "--version"):
        line = f"{sandbox.claude.version} (Claude Code)\n"
        return Script((Step(0.0, Stream.STDOUT, line.encode()),), 0)
    if parsed.words[:2] == ("auth", "status"):
        return _auth_status(sandbox, parsed, now)
    if not parsed.has("-p", "--print"):
        # Interactive mode without a terminal: waits for ever.
        return Script((), None)

    return _prompt_run(
        world, sandbox, parsed, stdin=stdin, workdir=workdir, now=now
    )


def auth_failure(
    world: World,
    sandbox: Sandbox,
    session_id: str,
    state: LoginState,
    pace: float = 0.05,
) -> Script:
    """The rest of a run whose login is dead: error message and result."""
    text = OAUTH_EXPIRED if state is LoginState.EXPIRED else NOT_LOGGED_IN
    status = 401 if state is LoginState.EXPIRED else None
    lines = [
        scripts.synthetic_error_line(
            session_id=session_id,
            uuid=world.next_id(),
            message_id=world.next_id(),
            text=text,
            error="authentication_failed",
        ),
        scripts.result_line(
            session_id=session_id,
            uuid=world.next_id(),
            model=sandbox.claude.model,
            duration=2 * pace,
            turns=1,
            usage=scripts.usage_of("", "") | {"input_tokens": 0},
            text=text,
            is_error=True,
            terminal_reason="api_error",
            stop_reason="stop_sequence",
            api_error_status=status,
        ),
    ]

    return Script(
        tuple(scripts.paced([scripts.encode(x) for x in lines], pace)),
        1,
        session_id,
    )


def _complaint(message: str) -> Script:
    return Script((Step(0.0, Stream.STDERR, (message + "\n").encode()),), 1)


def _auth_status(sandbox: Sandbox, args: ClaudeArgs, now: float) -> Script:
    if args.has("--json") and not sandbox.claude.auth_json:
        return _complaint("error: unknown option '--json'")
    state = sandbox.login.state_at(now)
    if state is LoginState.EXPIRED and sandbox.login.status_hides_expiry:
        state = LoginState.OAUTH
    if args.has("--text") or not sandbox.claude.auth_json:
        return _auth_text(sandbox, state)

    body: dict[str, object] = {
        "loggedIn": state in (LoginState.OAUTH, LoginState.API_KEY),
        "authMethod": "none",
        "apiProvider": "firstParty",
        "analyticsDisabled": False,
        "projectsDirectory": "/home/agent/.claude/projects",
        "configDirectory": "/home/agent/.claude",
    }
    match state:
        case LoginState.OAUTH:
            login = sandbox.login
            body |= {
                "authMethod": "claude.ai",
                "email": login.email,
                "orgId": login.org_id,
                "orgName": login.org_name,
                "subscriptionType": login.subscription,
            }
        case LoginState.API_KEY:
            body |= {
                "authMethod": "api_key",
                "apiKeySource": "ANTHROPIC_API_KEY",
            }
        case LoginState.EXPIRED:
            body |= {"authMethod": "claude.ai"}
        case LoginState.LOGGED_OUT:
            pass
    data = (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode()
    code = 0 if body["loggedIn"] else 1

    return Script((Step(0.0, Stream.STDOUT, data),), code)


def _auth_text(sandbox: Sandbox, state: LoginState) -> Script:
    login = sandbox.login
    match state:
        case LoginState.OAUTH:
            kind = login.subscription.capitalize()
            text = (
                f"Login method: Claude {kind} account\n"
                f"Organization: {login.org_name}\nEmail: {login.email}\n"
            )
            return Script((Step(0.0, Stream.STDOUT, text.encode()),), 0)
        case LoginState.API_KEY:
            text = "Login method: API key\nAPI key source: ANTHROPIC_API_KEY\n"
            return Script((Step(0.0, Stream.STDOUT, text.encode()),), 0)
        case LoginState.EXPIRED | LoginState.LOGGED_OUT:
            return _complaint("Not logged in")


def _prompt_run(
    world: World,
    sandbox: Sandbox,
    args: ClaudeArgs,
    *,
    stdin: bytes,
    workdir: str,
    now: float,
) -> Script:
    output = args.value("--output-format") or "text"
    if output == "stream-json" and not args.has("--verbose"):
        return _complaint(NEEDS_VERBOSE)
    prompt = " ".join(args.words) or stdin.decode("utf-8", "replace")
    if not prompt.strip():
        return _complaint(NO_INPUT)
    bypass = args.value("--permission-mode") == "bypassPermissions"
    if not (bypass or args.has("--dangerously-skip-permissions")):
        return Script((), None)

    plan = sandbox.plans.pop(0) if sandbox.plans else world.default_plan
    resume = args.value("--resume", "-r")
    session = _session(world, sandbox, resume, now)
    if session is None:
        return _unknown_session(world, str(resume))
    state = sandbox.login.state_at(now)
    if state in (LoginState.EXPIRED, LoginState.LOGGED_OUT):
        return auth_failure(world, sandbox, session.id, state, plan.pace)
    session.prompts.append(prompt)
    run = _Run(
        world,
        sandbox,
        session,
        plan,
        model=args.value("--model") or sandbox.claude.model,
        cwd=workdir,
        api_key=state is LoginState.API_KEY,
        partial=args.has("--include-partial-messages"),
    )
    script = run.script()
    if output == "stream-json":
        return script

    return _reformat(script, output)


def _session(
    world: World,
    sandbox: Sandbox,
    resume: str | None,
    now: float,
) -> Session | None:
    if resume is None:
        session = Session(world.next_id(), now)
        sandbox.sessions[session.id] = session
        return session
    found = sandbox.sessions.get(resume)
    if found is None or not sandbox.claude.resume_new_id:
        return found
    fresh = Session(world.next_id(), now, list(found.prompts))
    sandbox.sessions[fresh.id] = fresh

    return fresh


def _unknown_session(world: World, session_id: str) -> Script:
    sentence = f"No conversation found with session ID: {session_id}"
    line = scripts.result_line(
        session_id=session_id,
        uuid=world.next_id(),
        model="",
        duration=0.0,
        turns=0,
        usage=scripts.usage_of("", "") | {"input_tokens": 0},
        text=None,
        is_error=True,
        subtype="error_during_execution",
        errors=[sentence],
        stop_reason=None,
    )
    del line["terminal_reason"]

    return Script(
        (
            Step(0.0, Stream.STDOUT, scripts.encode(line)),
            Step(0.0, Stream.STDERR, (sentence + "\n").encode()),
        ),
        1,
        session_id,
    )


def _reformat(script: Script, output: str) -> Script:
    """Turn a stream-json script into the ``text`` or ``json`` format."""
    result: Line | None = None
    for raw in script.stdout().splitlines():
        try:
            candidate = json.loads(raw)
        except ValueError:
            continue
        if isinstance(candidate, dict) and candidate.get("type") == "result":
            result = candidate
    if result is None or script.exit_code is None:
        return Script((), script.exit_code, script.session_id)
    if output == "json":
        data = scripts.encode(result)
    else:
        errors = result.get("errors")
        joined = "; ".join(errors) if isinstance(errors, list) else ""
        text = result.get("result") or joined
        data = f"{text}\n".encode()

    return Script(
        (Step(script.duration(), Stream.STDOUT, data),),
        script.exit_code,
        script.session_id,
        script.needs_login,
    )


@dataclass(slots=True)
class _Run:
    """The pieces of one answered prompt, rendered per behaviour."""

    world: World
    sandbox: Sandbox
    session: Session
    plan: Plan
    model: str
    cwd: str
    api_key: bool
    partial: bool

    def script(self) -> Script:
        pace = self.plan.pace
        steps: list[Step]
        code: int | None
        match self.plan.behaviour:
            case Behaviour.NORMAL:
                steps, code = self._lines(self._answer(), pace), 0
            case Behaviour.SLOW_DRIP:
                data = b"".join(self._answer())
                steps, code = scripts.drip(data, self.plan.piece, pace), 0
            case Behaviour.STALL:
                steps, code = self._lines(self._answer()[:2], pace), None
            case Behaviour.HANG:
                steps, code = [], None
            case Behaviour.EXIT_AFTER_RESULT:
                steps, code = self._lines(self._answer(), pace), 1
            case Behaviour.RESULT_THEN_HANG:
                # The whole answer, then no exit (claude-code #25629).
                steps, code = self._lines(self._answer(), pace), None
            case Behaviour.OVERSIZED_LINE:
                lines = self._answer()
                lines.insert(1, self._oversized())
                steps, code = self._lines(lines, pace), 0
            case Behaviour.UNKNOWN_EVENTS:
                lines = self._answer()
                lines[1:1] = self._unknown()
                steps, code = self._lines(lines, pace), 0
            case Behaviour.TRUNCATED:
                lines = self._answer()
                lines[-1] = lines[-1][: len(lines[-1]) // 2]
                steps, code = self._lines(lines, pace), 1
            case Behaviour.USAGE_LIMIT:
                steps, code = self._lines(self._usage_limit(), pace), 1
            case Behaviour.MAX_TURNS:
                steps, code = self._lines(self._max_turns(), pace), 1

        return Script(tuple(steps), code, self.session.id, needs_login=True)

    def _lines(self, lines: list[bytes], pace: float) -> list[Step]:
        return scripts.paced(lines, pace)

    def _id(self) -> str:
        return self.world.next_id()

    def _reply(self) -> str:
        if self.plan.text is not None:
            return self.plan.text
        *earlier, prompt = self.session.prompts
        reply = f"You said: {prompt}"
        if earlier:
            reply += " | Earlier in this conversation: " + " / ".join(earlier)

        return reply

    def _init(self) -> bytes:
        return scripts.encode(
            scripts.init_line(
                session_id=self.session.id,
                uuid=self._id(),
                cwd=self.cwd,
                model=self.model,
                version=self.sandbox.claude.version,
                permission_mode="bypassPermissions",
                api_key_source="ANTHROPIC_API_KEY" if self.api_key else "none",
            ),
        )

    def _answer(self) -> list[bytes]:
        """Init, (partial events,) the assistant text, the result."""
        text = self._reply()
        usage = scripts.usage_of(self.session.prompts[-1], text)
        message_id = "msg_" + self.world.next_hex(24)
        lines = [self._init()]
        if self.partial:
            lines += [
                scripts.encode(line)
                for line in scripts.partial_lines(
                    session_id=self.session.id,
                    next_uuid=self._id,
                    message_id=message_id,
                    model=self.model,
                    text=text,
                    usage=usage,
                )
            ]
        content: list[Line] = [{"type": "text", "text": text}]
        lines.append(self._assistant(message_id, content, usage))
        lines.append(self._result(text, usage))

        return lines

    def _assistant(
        self,
        message_id: str,
        content: list[Line],
        usage: dict[str, int],
    ) -> bytes:
        return scripts.encode(
            scripts.assistant_line(
                session_id=self.session.id,
                uuid=self._id(),
                message_id=message_id,
                model=self.model,
                content=content,
                usage=usage,
            ),
        )

    def _result(self, text: str, usage: dict[str, int]) -> bytes:
        return scripts.encode(
            scripts.result_line(
                session_id=self.session.id,
                uuid=self._id(),
                model=self.model,
                duration=4 * self.plan.pace,
                turns=1,
                usage=usage,
                text=text,
            ),
        )

    def _oversized(self) -> bytes:
        """
        A tool result echoing a file of ``Plan.size`` bytes.

        The body appears twice (the content and ``tool_use_result``), so
        the line is a little over twice the size. The default 2 MiB stays
        under the decoder's 64 MiB default cap, as lines of several MiB
        are normal; a test sets a smaller cap to see the line skipped.
        """
        body = "x" * self.plan.size
        line = {
            "type": "user",
            "message": {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_" + self.world.next_hex(24),
                        "content": body,
                    },
                ],
            },
            "parent_tool_use_id": None,
            "session_id": self.session.id,
            "uuid": self._id(),
            "tool_use_result": {"stdout": body, "stderr": ""},
        }

        return scripts.encode(line)

    def _unknown(self) -> list[bytes]:
        """Noise a parser must pass over: new types, subtypes, debug text."""
        session = self.session.id
        return [
            b"[SandboxDebug] proxy ready\n",
            b"\r\n",
            scripts.encode(
                {
                    "type": "rate_limit_event",
                    "rate_limit_info": {
                        "status": "allowed",
                        "rateLimitType": "five_hour",
                    },
                    "session_id": session,
                    "uuid": self._id(),
                },
            ),
            scripts.encode(
                {
                    "type": "system",
                    "subtype": "sandwarden_future_subtype",
                    "session_id": session,
                    "uuid": self._id(),
                },
            ),
            scripts.encode(
                {
                    "type": "sandwarden_future_type",
                    "payload": {"nested": [1, 2, 3]},
                    "session_id": session,
                    "uuid": self._id(),
                },
            ),
        ]

    def _usage_limit(self) -> list[bytes]:
        session = self.session.id
        event = {
            "type": "rate_limit_event",
            "rate_limit_info": {
                "status": "rejected",
                "rateLimitType": "five_hour",
                "resetsAt": 1767225600,
            },
            "session_id": session,
            "uuid": self._id(),
        }
        error = scripts.synthetic_error_line(
            session_id=session,
            uuid=self._id(),
            message_id=self._id(),
            text=USAGE_LIMIT,
            error="rate_limit",
        )
        result = scripts.result_line(
            session_id=session,
            uuid=self._id(),
            model=self.model,
            duration=self.plan.pace,
            turns=1,
            usage=scripts.usage_of(self.session.prompts[-1], ""),
            text=USAGE_LIMIT,
            is_error=True,
            terminal_reason="api_error",
            stop_reason="stop_sequence",
            api_error_status=429,
        )

        return [self._init()] + [
            scripts.encode(x) for x in (event, error, result)
        ]

    def _max_turns(self) -> list[bytes]:
        usage = scripts.usage_of(self.session.prompts[-1], "")
        result = scripts.result_line(
            session_id=self.session.id,
            uuid=self._id(),
            model=self.model,
            duration=self.plan.pace,
            turns=2,
            usage=usage,
            text=None,
            is_error=True,
            subtype="error_max_turns",
            errors=["Reached maximum number of turns (1)"],
            terminal_reason="max_turns",
            stop_reason="tool_use",
        )

        return [self._init(), scripts.encode(result)]
