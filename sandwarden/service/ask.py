"""
Asking Claude: one turn of a conversation, probed, guarded and healed.

A turn probes the active sandbox (a healthy answer is trusted briefly),
runs `claude -p` in it with the prompt on stdin, streams the output
through the decoder, and stores the session id the CLI returned. It
resumes a stored conversation, and falls back to a new one only when the
session is gone; it heals and retries once when the failure is one that a
heal can fix. Turns of one conversation never overlap within a process.

One process should own a conversation. The per-conversation lock lives
in this process's memory; the state store has no lock per conversation,
so two processes sharing a store could run turns of one conversation at
once: both would resume the same session, and the last to finish would
decide the session stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import assert_never

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.auth import check_api_key_source
from sandwarden.domain.classify import Context, classify
from sandwarden.domain.conversation import Conversation
from sandwarden.domain.deadlines import Limits, Stop
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.events import (
    ApiRetry,
    Event,
    RateLimitEvent,
    ResultEvent,
    SystemInit,
)
from sandwarden.domain.healplan import heal_trigger
from sandwarden.domain.invocation import ClaudeRun
from sandwarden.domain.live_text import LiveText
from sandwarden.domain.reply import Reply, ReplyBuilder
from sandwarden.domain.retries import judge_retry
from sandwarden.domain.sandbox import ExecResult, Stream
from sandwarden.domain.stream import StreamDecoder
from sandwarden.domain.values import SandboxName, SessionId
from sandwarden.domain.watchdog import awaiting_login
from sandwarden.ports import Execution
from sandwarden.service.deps import Deps
from sandwarden.service.heal import Healer, HealReport
from sandwarden.service.journal import Topic
from sandwarden.service.probe import Prober

__all__ = ["POST_RESULT_GRACE", "Asker", "OnRetry", "OnText"]

OnText = Callable[[str], None]
OnRetry = Callable[[str], None]

# `claude -p` refuses piped input over 10 MB (the CLI's documented cap).
_MAX_PROMPT_BYTES = 10 * 1000 * 1000

#: The most of a stopped run's text, and of its stderr, that its error
#: keeps as evidence (the ends: what came just before the stop).
_PARTIAL_BYTES = 4096

#: Seconds a run may go on after its result before it is stopped. Some
#: CLI builds never exit after the result (claude-code #25629, #21099);
#: a sound one kills its background tasks about 5 s after the result
#: once stdin is closed, so twice that is room enough to exit.
POST_RESULT_GRACE = 10.0


class Asker:
    """
    Runs turns; holds the per-conversation locks of this process.

    The locks order the turns of a conversation within this process
    only: route each conversation to one process (see the module
    docstring).
    """

    def __init__(self, deps: Deps, prober: Prober, healer: Healer) -> None:
        self._deps = deps
        self._prober = prober
        self._healer = healer
        self._locks: dict[str, asyncio.Lock] = {}

    async def ask(
        self,
        prompt: str,
        *,
        conversation: str | None = None,
        on_text: OnText | None = None,
        on_retry: OnRetry | None = None,
    ) -> Result[Reply, WardenError]:
        """
        Run one turn and return Claude's reply.

        ``conversation`` names a conversation to continue (created on the
        first turn); without it the turn stands alone. ``on_text``
        receives displayable text as it arrives, each piece once.
        ``on_retry`` is told why, when a run that had already shown text
        failed and the turn runs again (after a heal, or in a new
        conversation): what ``on_text`` got so far was cut off, and the
        answer starts again.
        """
        checked = _check_prompt(prompt)
        if not is_successful(checked):
            return Failure(checked.failure())
        if conversation is not None and not conversation.strip():
            return Failure(
                WardenError.invalid(
                    "conversation name is blank; expected a non-empty key "
                    "such as a chat id",
                ),
            )

        shown = _Shown(on_text, on_retry)
        if conversation is None:
            return await self._turn(prompt, None, shown)
        lock = self._locks.setdefault(conversation, asyncio.Lock())
        async with lock:
            return await self._turn(prompt, conversation, shown)

    async def _turn(
        self,
        prompt: str,
        key: str | None,
        shown: _Shown,
    ) -> Result[Reply, WardenError]:
        deps = self._deps
        notes: list[str] = []
        healed = False
        fell_back = False

        while True:
            shown.restart(notes)
            active = await self._healer.active()
            health = await self._prober.cached(active)
            if not is_successful(health):
                error = health.failure()
                if not healed and await self._may_heal(error, active):
                    healed = True
                    report = await self._heal(error, active, notes)
                    if report is not None and report.usable:
                        continue
                    return Failure(_after_heal(error, report))
                return Failure(error)

            resume = await self._resumable(key, active, notes)
            ran = await self._run(active, prompt, resume, shown.feed)
            if is_successful(ran):
                reply = ran.unwrap()
                await self._remember(key, active, reply)
                said = "".join(f"; {note}" for note in reply.notes)
                deps.note(
                    Topic.ASK,
                    f"turn answered by {active}{said}",
                    sandbox=str(active),
                    conversation=key,
                    resumed=resume is not None,
                    session=reply.session_id,
                )
                return Success(
                    replace(reply, notes=(*notes, *reply.notes)),
                )

            error = ran.failure()
            self._prober.forget(active)
            deps.note(
                Topic.ASK,
                f"turn failed in {active}: {error.message}",
                sandbox=str(active),
                kind=str(error.kind),
            )
            if (
                error.kind is ErrorKind.SESSION_NOT_FOUND
                and resume is not None
                and not fell_back
            ):
                fell_back = True
                await self._start_over(key, resume, active, notes)
                continue
            if not healed and await self._may_heal(error, active):
                healed = True
                report = await self._heal(error, active, notes)
                if report is not None and report.usable:
                    continue
                return Failure(_after_heal(error, report))
            return Failure(error)

    async def _may_heal(
        self,
        error: WardenError,
        active: SandboxName,
    ) -> bool:
        deps = self._deps
        if not deps.config.self_heal or not is_successful(
            heal_trigger(error),
        ):
            return False
        if error.kind is not ErrorKind.AUTH:
            return True

        # The last heal ended on this very sandbox, waiting for an
        # operator's login: another would end the same way and page the
        # operator again (the watchdog holds back likewise).
        history = (await deps.store.heal_history(1)).value_or(())
        if awaiting_login(history[-1] if history else None, str(active)):
            deps.note(
                Topic.ASK,
                f"not healed: {active} is waiting for an operator's login",
                sandbox=str(active),
            )
            return False

        return True

    async def _heal(
        self,
        error: WardenError,
        failed: SandboxName,
        notes: list[str],
    ) -> HealReport | None:
        """Heal after ``error`` in ``failed``; None when refused."""
        outcome = await self._healer.heal(error, failed=failed)
        if not is_successful(outcome):
            return None
        healed = outcome.unwrap()
        notes.append(f"healed after {error.kind}: {healed.summary}")

        return healed

    async def _resumable(
        self,
        key: str | None,
        active: SandboxName,
        notes: list[str],
    ) -> SessionId | None:
        if key is None:
            return None
        stored = await self._deps.store.conversation(key)
        if not is_successful(stored):
            # A store we cannot read must not stop the bot answering; the
            # turn starts a new conversation and says why.
            notes.append(
                "started a new conversation: the conversation store "
                f"failed ({stored.failure().message})",
            )
            return None
        conversation = stored.unwrap()
        if conversation is None:
            return None
        if conversation.sandbox != active:
            reason = (
                f"started a new conversation: session "
                f"{conversation.session_id} lived in sandbox "
                f"{conversation.sandbox}, and turns now go to {active}"
            )
            notes.append(reason)
            self._deps.note(Topic.CONVERSATION, reason, conversation=key)
            await self._deps.store.forget_conversation(key)
            return None

        return conversation.session_id

    async def _start_over(
        self,
        key: str | None,
        resume: SessionId,
        active: SandboxName,
        notes: list[str],
    ) -> None:
        reason = (
            f"started a new conversation: session {resume} was not found "
            f"in sandbox {active}"
        )
        notes.append(reason)
        self._deps.note(Topic.CONVERSATION, reason, conversation=key)
        if key is not None:
            await self._deps.store.forget_conversation(key)

    async def _remember(
        self,
        key: str | None,
        active: SandboxName,
        reply: Reply,
    ) -> None:
        session = reply.resumable_session_id
        if key is None or session is None:
            return
        store = self._deps.store
        previous = await store.conversation(key)
        turns = 1
        if is_successful(previous):
            known = previous.unwrap()
            if known is not None and known.sandbox == active:
                turns = known.turns + 1
        await store.save_conversation(
            Conversation(
                key=key,
                sandbox=active,
                session_id=session,
                last_used=self._deps.clock.time(),
                turns=turns,
            ),
        )

    async def _run(
        self,
        active: SandboxName,
        prompt: str,
        resume: SessionId | None,
        on_text: OnText | None,
    ) -> Result[Reply, WardenError]:
        config = self._deps.config
        built = ClaudeRun.parse(
            model=config.model,
            system_prompt=config.system_prompt,
            resume=resume,
            partial_messages=config.partial_messages,
        )
        if not is_successful(built):
            return Failure(built.failure())
        run = built.unwrap()
        limits = config.resume_limits if resume else config.prompt_limits

        started = await self._deps.runtime.exec(
            active,
            run.argv(),
            workdir=config.workspace,
            limits=limits,
            stdin=prompt.encode(),
        )
        if not is_successful(started):
            return Failure(started.failure())
        execution = started.unwrap()

        guard = _Guard(
            self._deps.config.allow_api_key,
            limits,
            self._deps.clock.monotonic(),
        )
        try:
            builder, refused = await self._stream(
                execution,
                on_text,
                guard,
            )
        except BaseException:
            # Cancelled, or the caller's ``on_text`` raised: either way the
            # run must not go on in the sandbox without anyone reading it.
            await asyncio.shield(execution.cancel())
            raise
        ended = await execution.wait()
        if not is_successful(ended):
            return Failure(ended.failure())
        if refused is not None:
            return Failure(refused)

        context = Context.RESUME if resume else Context.PROMPT
        return _judge(ended.unwrap(), builder.build(), context, limits.hard)

    async def _stream(
        self,
        execution: Execution,
        on_text: OnText | None,
        guard: _Guard,
    ) -> tuple[ReplyBuilder, WardenError | None]:
        decoder = StreamDecoder()
        builder = ReplyBuilder()
        live = LiveText()
        closing: asyncio.Task[None] | None = None

        try:
            async for chunk in execution.output():
                if chunk.stream is not Stream.STDOUT:
                    continue
                for event in decoder.feed(chunk.data):
                    _show(event, builder, live, on_text)
                    if type(event) is ResultEvent and closing is None:
                        closing = asyncio.create_task(
                            self._stop_after_grace(execution),
                        )
                    refused = guard.check(event, self._deps.clock.monotonic())
                    if refused is not None:
                        await execution.cancel()
                        return builder, refused
        finally:
            if closing is not None:
                closing.cancel()
        for event in decoder.finish():
            _show(event, builder, live, on_text)

        return builder, None

    async def _stop_after_grace(self, execution: Execution) -> None:
        """Stop a run that has its result but does not exit."""
        await self._deps.clock.sleep(POST_RESULT_GRACE)
        await execution.cancel()


def _show(
    event: Event,
    builder: ReplyBuilder,
    live: LiveText,
    on_text: OnText | None,
) -> None:
    builder.add(event)
    text = live.feed(event)
    if text and on_text is not None:
        on_text(text)


class _Guard:
    """
    Watches a run's events for a reason to stop it at once.

    The billing guard reads the init event's ``apiKeySource``: a run
    billed to an API key is stopped before its first model call. A dead
    login shows as `api_retry` events that no retry can fix.
    """

    def __init__(self, allow_api_key: bool, limits: Limits, now: float):
        self._allow_api_key = allow_api_key
        self._deadline = None if limits.hard is None else now + limits.hard
        self._quota_rejected = False

    def check(self, event: Event, now: float) -> WardenError | None:
        """The error to stop the run with, or None to let it go on."""
        if isinstance(event, SystemInit):
            guarded = check_api_key_source(
                event.api_key_source,
                self._allow_api_key,
            )
            return None if is_successful(guarded) else guarded.failure()
        if isinstance(event, RateLimitEvent) and event.status == "rejected":
            self._quota_rejected = True
        if isinstance(event, ApiRetry):
            remaining = None
            if self._deadline is not None:
                remaining = max(0.0, self._deadline - now)
            decision = judge_retry(
                event,
                remaining=remaining,
                quota_rejected=self._quota_rejected,
            )
            return decision.error if decision.stops else None

        return None


class _Shown:
    """A turn's live text: passes it on, and tells when it starts over."""

    __slots__ = ("_on_retry", "_on_text", "_since_run")

    def __init__(
        self,
        on_text: OnText | None,
        on_retry: OnRetry | None,
    ) -> None:
        self._on_text = on_text
        self._on_retry = on_retry
        self._since_run = False

    def feed(self, text: str) -> None:
        """Show ``text``; the next run, if any, restarts the answer."""
        self._since_run = True
        if self._on_text is not None:
            self._on_text(text)

    def restart(self, notes: list[str]) -> None:
        """Before a run: say why, if an earlier run had shown text."""
        if not self._since_run:
            return
        self._since_run = False
        if self._on_retry is not None:
            self._on_retry(notes[-1] if notes else "the run is retried")


def _judge(
    ended: ExecResult,
    reply: Reply,
    context: Context,
    hard: float | None,
) -> Result[Reply, WardenError]:
    """Decide a finished run from how it ended and what it printed."""
    stopped = ended.stopped
    if stopped is not None and reply.is_error is not None:
        # The run had its result and only failed to exit: the result is
        # the answer, and running the prompt again would repeat its
        # side effects.
        note = _not_exited(stopped)
        return reply.checked().map(
            lambda answered: replace(
                answered,
                notes=(*answered.notes, note),
            ),
        )
    if ended.stopped is Stop.HARD_TIMEOUT:
        return Failure(
            WardenError(
                ErrorKind.TIMEOUT,
                f"Claude did not finish within {hard} s; the run was stopped",
                detail=_partial(reply.text, ended.stderr_tail),
            ),
        )
    if ended.stopped is Stop.STALLED:
        return Failure(
            WardenError(
                ErrorKind.STALLED,
                "Claude printed nothing for the inactivity period; the run "
                "was stopped",
                detail=_partial(reply.text, ended.stderr_tail),
            ),
        )
    if ended.stopped is Stop.CANCELLED:
        return Failure(
            WardenError(ErrorKind.CANCELLED, "the run was cancelled"),
        )

    if reply.error_kind is not ErrorKind.TRUNCATED:
        return reply.checked()

    # No result: the stream says nothing, so stderr decides when it
    # names a failure; an exit code alone says no more than "truncated".
    classified = classify(ended.exit_code, b"", ended.stderr_tail, context)
    if (
        not is_successful(classified)
        and classified.failure().kind is not ErrorKind.UNKNOWN
    ):
        return Failure(classified.failure())
    error = reply.error()
    if error is None:  # pragma: no cover - a reply without result fails
        error = WardenError(ErrorKind.TRUNCATED, "no result")
    exited = "" if ended.exit_code is None else f"exit {ended.exit_code}\n\n"

    return Failure(
        error.with_detail(exited + _partial(reply.text, ended.stderr_tail)),
    )


def _not_exited(stopped: Stop) -> str:
    match stopped:
        case Stop.CANCELLED:
            how = f"after {POST_RESULT_GRACE:g} s"
        case Stop.STALLED:
            how = "by the inactivity timeout"
        case Stop.HARD_TIMEOUT:
            how = "by the hard timeout"
        case _:  # pragma: no cover - Stop has no other member
            assert_never(stopped)

    return f"claude did not exit after its result; it was stopped {how}"


def _partial(text: str, stderr: bytes) -> str:
    """
    What a run printed before it ended: its text's end, then stderr's.

    Each part keeps its last ``_PARTIAL_BYTES``; an empty part is left
    out, so a run that printed nothing has no detail.
    """
    parts = []
    said = text.encode()[-_PARTIAL_BYTES:].decode("utf-8", "ignore").strip()
    if said:
        parts.append(f"Claude printed last:\n{said}")
    err = stderr[-_PARTIAL_BYTES:].decode("utf-8", "replace").strip()
    if err:
        parts.append(f"stderr:\n{err}")

    return "\n\n".join(parts)


def _after_heal(error: WardenError, report: HealReport | None) -> WardenError:
    """
    The turn's error once a heal could not give it a usable sandbox.

    A heal that ended on a sandbox awaiting an operator's login turns any
    failure into that login: it is what the operator must do next.
    """
    if report is None or not report.needs_login or report.sandbox is None:
        return error
    action = report.login_action or "log Claude in there"
    evidence = f"{error}\n{error.detail}" if error.detail else str(error)

    return WardenError(
        ErrorKind.AUTH,
        f"the turn failed ({error.kind}) and the heal ended on sandbox "
        f"{report.sandbox}, which needs an operator's login: {action}",
        detail=evidence,
    )


def _check_prompt(prompt: str) -> Result[None, WardenError]:
    if not prompt.strip():
        return Failure(
            WardenError.invalid("prompt is empty; expected some text"),
        )
    size = len(prompt.encode())
    if size > _MAX_PROMPT_BYTES:
        return Failure(
            WardenError.invalid(
                f"prompt is {size} bytes; Claude accepts at most "
                f"{_MAX_PROMPT_BYTES} on stdin",
            ),
        )

    return Success(None)
