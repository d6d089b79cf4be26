from __future__ import annotations

import asyncio
import json

import pytest
from returns.pipeline import is_successful

from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.reply import Reply
from sandwarden.domain.sandbox import Stream
from sandwarden.service.ask import POST_RESULT_GRACE
from sandwarden.service.journal import Note
from sandwarden.simulator.inside import plan_inside
from sandwarden.simulator.scripts import Script, Step, assistant_line
from sandwarden.simulator.world import Behaviour, Login, LoginMethod, Plan
from tests.service.simrig import HEAL, PRIMARY, rig


def prompt_runs(events: list[str], sandbox: str) -> list[str]:
    prefix = f"exec {sandbox} run "
    return [w for w in events if w.startswith(prefix) and ": claude -p" in w]


def test_a_turn_answers_and_shows_live_text_once() -> None:
    r = rig()
    pieces: list[str] = []

    reply = r.run(r.services.asker.ask("hello there", on_text=pieces.append))

    assert reply.unwrap().text == "You said: hello there"
    assert "".join(pieces) == "You said: hello there"
    assert reply.unwrap().notes == ()


def test_a_conversation_resumes_its_session() -> None:
    r = rig()

    async def two_turns() -> tuple[str, str, int]:
        asker = r.services.asker
        first = (await asker.ask("word is FIG", conversation="c")).unwrap()
        second = (await asker.ask("which word?", conversation="c")).unwrap()
        stored = (await r.store.conversation("c")).unwrap()
        assert stored is not None
        assert stored.session_id.value == second.session_id
        return first.session_id or "", second.text, stored.turns

    first_session, text, turns = r.run(two_turns())

    assert "Earlier in this conversation: word is FIG" in text
    assert turns == 2
    assert first_session in r.world.sandboxes[PRIMARY.value].sessions


def test_a_lost_session_starts_a_new_conversation_and_says_why() -> None:
    r = rig()

    async def scenario() -> tuple[str, tuple[str, ...], str | None]:
        asker = r.services.asker
        first = (await asker.ask("word is FIG", conversation="c")).unwrap()
        r.world.sandboxes[PRIMARY.value].sessions.clear()
        second = (await asker.ask("which word?", conversation="c")).unwrap()
        return first.session_id or "", second.notes, second.session_id

    lost, notes, new = r.run(scenario())

    assert len(notes) == 1
    assert f"session {lost} was not found" in notes[0]
    assert new is not None
    assert new != lost
    assert any(lost in m for m in r.messages("conversation"))


def test_a_missing_sandbox_is_healed_and_the_turn_retried() -> None:
    r = rig()
    del r.world.sandboxes[PRIMARY.value]

    reply = r.run(r.services.asker.ask("hello"))

    assert reply.unwrap().text == "You said: hello"
    assert reply.unwrap().notes[0].startswith("healed after sandbox_")
    assert r.run(r.store.active_sandbox()).unwrap() == HEAL


def test_a_turn_heals_and_retries_only_once() -> None:
    r = rig(prompt_limits=Limits(3600.0, 60.0))
    r.world.default_plan = Plan(Behaviour.HANG)

    reply = r.run(r.services.asker.ask("hello"))

    assert reply.failure().kind is ErrorKind.STALLED
    heals = r.run(r.store.heal_history(10)).unwrap()
    assert len(heals) == 1
    events = [e.what for e in r.world.events]
    assert len(prompt_runs(events, PRIMARY.value)) == 1
    assert len(prompt_runs(events, HEAL.value)) == 1


def test_a_stall_is_stopped_by_the_inactivity_timeout() -> None:
    r = rig(self_heal=False, prompt_limits=Limits(3600.0, 60.0))
    r.world.sandboxes[PRIMARY.value].plans.append(Plan(Behaviour.STALL))

    async def timed() -> tuple[ErrorKind, float]:
        started = r.clock.monotonic()
        reply = await r.services.asker.ask("hello")
        return reply.failure().kind, r.clock.monotonic() - started

    kind, took = r.run(timed())

    assert kind is ErrorKind.STALLED
    assert 60.0 <= took < 70.0


def test_a_long_run_is_stopped_by_the_hard_timeout() -> None:
    r = rig(self_heal=False, prompt_limits=Limits(30.0, 600.0))
    r.world.sandboxes[PRIMARY.value].plans.append(
        Plan(Behaviour.SLOW_DRIP, pace=1.0),
    )

    reply = r.run(r.services.asker.ask("tell me a long story " * 20))

    assert reply.failure().kind is ErrorKind.TIMEOUT


def test_turns_of_one_conversation_never_overlap() -> None:
    r = rig()
    r.world.default_plan = Plan(Behaviour.SLOW_DRIP, pace=0.5)

    async def concurrently() -> list[str]:
        asker = r.services.asker
        replies = await asyncio.gather(
            asker.ask("word is FIG", conversation="c"),
            asker.ask("which word?", conversation="c"),
            asker.ask("unrelated", conversation="d"),
        )
        return [reply.unwrap().text for reply in replies]

    texts = r.run(concurrently())

    # the second turn waited for the first, so it resumed its session
    assert "Earlier in this conversation: word is FIG" in texts[1]
    assert "Earlier" not in texts[2]
    starts = {
        e.what.split(" run ")[1].split(":")[0]: e.at
        for e in r.world.events
        if ": claude -p" in e.what
    }
    ends = {
        e.what.split(" run ")[1].split(" ")[0]: e.at
        for e in r.world.events
        if e.what.endswith("ended: exit 0") and " run " in e.what
    }
    runs = sorted((starts[m], ends[m]) for m in starts)
    # the other conversation's turn ran alongside the first
    assert runs[1][0] < runs[0][1]


def test_the_billing_guard_on_the_init_event_stops_the_run() -> None:
    r = rig(probe_cache=3600.0)

    async def scenario() -> ErrorKind:
        asker = r.services.asker
        (await asker.ask("hello")).unwrap()
        # the cached probe still trusts the sandbox: only the run's init
        # event can tell
        r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.API_KEY)
        reply = await asker.ask("bill me")
        return reply.failure().kind

    kind = r.run(scenario())

    assert kind is ErrorKind.BILLING_GUARD
    results = [
        e.what for e in r.world.events if e.what.endswith("ended: exit 0")
    ]
    runs = prompt_runs([e.what for e in r.world.events], PRIMARY.value)
    # the second run never reached its result: it was stopped
    assert len(runs) == 2
    assert len([w for w in results if runs[1].split(":")[0] in w]) == 0


def _dead_login_script() -> Script:
    def line(obj: dict[str, object]) -> bytes:
        return json.dumps(obj).encode() + b"\n"

    init = line(
        {
            "type": "system",
            "subtype": "init",
            "session_id": "s1",
            "apiKeySource": "none",
            "model": "m",
            "cwd": "/srv/app",
        },
    )
    retry = line(
        {
            "type": "system",
            "subtype": "api_retry",
            "session_id": "s1",
            "attempt": 1,
            "max_retries": 10,
            "retry_delay_ms": 600000,
            "error_status": 401,
            "error": "authentication_failed",
        },
    )
    return Script(
        (Step(0.1, Stream.STDOUT, init), Step(0.5, Stream.STDOUT, retry)),
        None,
    )


def test_a_dead_login_api_retry_stops_the_run_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = rig(self_heal=False)

    def plan(*args: object, **kwargs: object) -> Script:
        command = args[2]
        assert isinstance(command, list)
        if "-p" in command:
            return _dead_login_script()
        return plan_inside(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("sandwarden.simulator.runtime.plan_inside", plan)

    async def timed() -> tuple[ErrorKind, float]:
        started = r.clock.monotonic()
        reply = await r.services.asker.ask("hello")
        return reply.failure().kind, r.clock.monotonic() - started

    kind, took = r.run(timed())

    assert kind is ErrorKind.AUTH
    # stopped at the retry notice, not after the ten-minute retry delay
    assert took < 5.0


def test_an_empty_prompt_is_refused_before_anything_runs() -> None:
    r = rig()

    reply = r.run(r.services.asker.ask("  \n"))

    assert reply.failure().kind is ErrorKind.INVALID_INPUT
    assert r.world.events == []


def test_a_usage_limit_is_not_healed_and_keeps_the_conversation() -> None:
    r = rig()

    async def scenario() -> tuple[ErrorKind, bool]:
        asker = r.services.asker
        (await asker.ask("word is FIG", conversation="c")).unwrap()
        r.world.sandboxes[PRIMARY.value].plans.append(
            Plan(Behaviour.USAGE_LIMIT),
        )
        failed = await asker.ask("report", conversation="c")
        kept = await r.store.conversation("c")
        return failed.failure().kind, kept.unwrap() is not None

    kind, kept = r.run(scenario())

    assert kind is ErrorKind.USAGE_LIMIT
    assert kept
    assert r.run(r.store.heal_history(10)).unwrap() == ()
    assert is_successful(r.run(r.store.conversation("c")))


def test_an_answer_whose_process_never_exits_is_kept_and_not_rerun() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].plans.append(
        Plan(Behaviour.RESULT_THEN_HANG),
    )
    pieces: list[str] = []

    async def timed() -> tuple[Reply, float]:
        started = r.clock.monotonic()
        reply = await r.services.asker.ask(
            "hello", conversation="c", on_text=pieces.append
        )
        return reply.unwrap(), r.clock.monotonic() - started

    reply, took = r.run(timed())

    assert reply.text == "You said: hello"
    assert "".join(pieces) == "You said: hello"
    assert reply.notes == (
        f"claude did not exit after its result; it was stopped after "
        f"{POST_RESULT_GRACE:g} s",
    )
    assert took < POST_RESULT_GRACE + 5.0
    events = [e.what for e in r.world.events]
    assert len(prompt_runs(events, PRIMARY.value)) == 1
    assert r.run(r.store.heal_history(10)).unwrap() == ()
    stored = r.run(r.store.conversation("c")).unwrap()
    assert stored is not None
    assert stored.session_id.value == reply.session_id


def test_an_answer_stalled_after_its_result_is_judged_by_the_result() -> None:
    r = rig(prompt_limits=Limits(3600.0, POST_RESULT_GRACE / 2))
    r.world.sandboxes[PRIMARY.value].plans.append(
        Plan(Behaviour.RESULT_THEN_HANG),
    )

    reply = r.run(r.services.asker.ask("hello"))

    assert reply.unwrap().text == "You said: hello"
    assert reply.unwrap().notes == (
        "claude did not exit after its result; it was stopped by the "
        "inactivity timeout",
    )
    assert r.run(r.store.heal_history(10)).unwrap() == ()


def test_a_raising_journal_subscriber_stops_neither_turn_nor_heal() -> None:
    r = rig()
    del r.world.sandboxes[PRIMARY.value]

    def broken(note: Note) -> None:
        raise RuntimeError(f"observer bug on {note.topic}")

    r.journal.subscribers.append(broken)

    reply = r.run(r.services.asker.ask("hello", conversation="c"))

    assert reply.unwrap().text == "You said: hello"
    assert r.run(r.store.active_sandbox()).unwrap() == HEAL
    heals = r.run(r.store.heal_history(10)).unwrap()
    assert [h.succeeded for h in heals] == [True]
    assert r.run(r.store.conversation("c")).unwrap() is not None


def test_a_heal_that_needs_a_login_makes_the_turn_an_auth_error() -> None:
    r = rig(template=False)
    del r.world.sandboxes[PRIMARY.value]

    reply = r.run(r.services.asker.ask("hello"))

    error = reply.failure()
    assert error.kind is ErrorKind.AUTH
    assert f"sandbox {HEAL}" in error.message
    assert f"`docker sandbox exec -it {HEAL} claude`" in error.message
    assert "sandbox_unavailable" in error.detail
    assert [a.code for a in r.alerts.alerts] == ["login_needed"]


def test_a_raising_on_text_stops_the_run_inside_the_sandbox() -> None:
    r = rig()
    sandbox = r.world.sandboxes[PRIMARY.value]
    sandbox.plans.append(Plan(Behaviour.SLOW_DRIP, pace=5.0))

    def explode(_: str) -> None:
        raise RuntimeError("the bot's renderer broke")

    with pytest.raises(RuntimeError, match="renderer"):
        r.run(r.services.asker.ask("hello there", on_text=explode))

    assert sandbox.processes == {}


def _silent_after(text: str, stderr: bytes) -> Script:
    """A run that prints ``text`` and ``stderr``, then hangs silent."""
    init = {
        "type": "system",
        "subtype": "init",
        "session_id": "s1",
        "apiKeySource": "none",
        "model": "m",
        "cwd": "/srv/app",
    }
    said = assistant_line(
        session_id="s1",
        uuid="u1",
        message_id="m1",
        model="m",
        content=[{"type": "text", "text": text}],
        usage={"input_tokens": 1, "output_tokens": 1},
    )
    return Script(
        (
            Step(0.1, Stream.STDOUT, json.dumps(init).encode() + b"\n"),
            Step(0.1, Stream.STDOUT, json.dumps(said).encode() + b"\n"),
            Step(0.1, Stream.STDERR, stderr),
        ),
        None,
    )


@pytest.mark.parametrize(
    ("limits", "kind"),
    [
        (Limits(3600.0, 60.0), ErrorKind.STALLED),
        (Limits(30.0, 600.0), ErrorKind.TIMEOUT),
    ],
)
def test_a_stopped_run_keeps_the_end_of_what_it_printed(
    monkeypatch: pytest.MonkeyPatch,
    limits: Limits,
    kind: ErrorKind,
) -> None:
    r = rig(self_heal=False, prompt_limits=limits)
    text = "".join(f"step {n} done. " for n in range(1000)) + "Now clon"
    stderr = b"x" * 10_000 + b"warning: slow network\n"

    def plan(*args: object, **kwargs: object) -> Script:
        command = args[2]
        assert isinstance(command, list)
        if "-p" in command:
            return _silent_after(text, stderr)
        return plan_inside(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("sandwarden.simulator.runtime.plan_inside", plan)

    error = r.run(r.services.asker.ask("clone it")).failure()

    assert error.kind is kind
    said, err = error.detail.split("\n\nstderr:\n")
    assert said.startswith("Claude printed last:\n")
    assert said.endswith("step 999 done. Now clon")
    assert "step 0 done" not in said
    assert len(said.encode()) <= 4096 + 50
    assert err.endswith("warning: slow network")
    assert len(err.encode()) <= 4096


def test_output_cut_off_without_a_result_is_truncated_not_unknown() -> None:
    r = rig(self_heal=False)
    r.world.sandboxes[PRIMARY.value].plans.append(Plan(Behaviour.TRUNCATED))

    error = r.run(r.services.asker.ask("write the changelog")).failure()

    assert error.kind is ErrorKind.TRUNCATED
    assert error.detail.startswith("exit 1\n\nClaude printed last:\n")


def test_a_retry_after_text_was_shown_says_the_answer_starts_again() -> None:
    # The answer drips until the hard timeout stops it half shown.
    r = rig(prompt_limits=Limits(3.0, 600.0))
    r.world.sandboxes[PRIMARY.value].plans.append(
        Plan(Behaviour.SLOW_DRIP, text="FIRST-ATTEMPT", pace=1.0, piece=1200),
    )
    events: list[tuple[str, str]] = []

    reply = r.run(
        r.services.asker.ask(
            "hello",
            on_text=lambda text: events.append(("text", text)),
            on_retry=lambda why: events.append(("retry", why)),
        ),
    ).unwrap()

    retries = [at for at, (what, _) in enumerate(events) if what == "retry"]
    assert len(retries) == 1
    before = "".join(text for what, text in events[: retries[0]])
    after = "".join(text for what, text in events[retries[0] + 1 :])
    assert before.startswith("FIRST")
    assert "healed after timeout" in events[retries[0]][1]
    assert after == reply.text


def test_no_retry_is_announced_when_nothing_was_shown() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].plans.append(Plan(Behaviour.HANG))
    retried: list[str] = []

    reply = r.run(
        r.services.asker.ask("hello", on_retry=retried.append),
    )

    assert is_successful(reply)
    assert retried == []
