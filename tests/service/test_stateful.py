"""
Random fault sequences and asks through the real services, checked after
every step.

The machine keeps one virtual-time event loop alive across its rules, so
the services' locks and caches live as they would in a long-running
warden; nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from returns.pipeline import is_successful

from sandwarden.domain.healing import HealRecord
from sandwarden.domain.values import SandboxName
from sandwarden.simulator.faults import Fault, ScheduledFault, apply_fault
from sandwarden.simulator.world import Behaviour, LoginState, Plan
from tests.service.simrig import HEAL, PRIMARY, WORKSPACE, Rig, rig

_T = TypeVar("_T")

CONVERSATIONS = ("alpha", "beta", "gamma")
# "active" is whichever sandbox the warden uses now: breaking it matters most.
SANDBOXES = ("active", "active", PRIMARY.value, HEAL.value, "spare")
FAULTS = st.sampled_from(
    [
        (Fault.LOGIN_EXPIRED, "sandbox"),
        (Fault.LOGGED_OUT, "sandbox"),
        (Fault.API_KEY_LOGIN, "sandbox"),
        (Fault.LOGIN_RENEWED, "sandbox"),
        (Fault.SANDBOX_REMOVED, "sandbox"),
        (Fault.SANDBOX_STOPPED, "sandbox"),
        (Fault.WORKSPACE_MOVED, "sandbox"),
        (Fault.DAEMON_DOWN, ""),
        (Fault.DAEMON_UP, ""),
        (Fault.IMAGE_STORE_DOWN, ""),
        (Fault.IMAGE_STORE_UP, ""),
        (Fault.HOST_HEAD_CHANGED, "workspace"),
    ],
)


class WardenMachine(RuleBasedStateMachine):
    """The services against a world that keeps breaking."""

    def __init__(self) -> None:
        super().__init__()
        self.r: Rig = rig()
        self.loop = self.r.clock.new_loop()
        self.origin: dict[str, str] = {}
        self.heals_seen = 0
        self.runs_seen = 0

    @initialize(
        allow_api_key=st.booleans(),
        parity=st.booleans(),
        spare=st.booleans(),
    )
    def arrange(self, allow_api_key: bool, parity: bool, spare: bool) -> None:
        self.r = rig(check_parity=parity, allow_api_key=allow_api_key)
        self.loop.close()
        self.loop = self.r.clock.new_loop()
        if spare:
            from tests.service.simrig import add_sandbox

            add_sandbox(self.r.world, "spare")
        self.note_sessions()

    def teardown(self) -> None:
        self.loop.close()

    def drive(self, main: Coroutine[Any, Any, _T]) -> _T:
        return self.loop.run_until_complete(main)

    def note_sessions(self) -> None:
        """Remember in which sandbox each session id first appeared."""
        for name, sandbox in self.r.world.sandboxes.items():
            for session in sandbox.sessions:
                self.origin.setdefault(session, name)

    @property
    def allowed_api_key(self) -> bool:
        return self.r.deps.config.allow_api_key

    # -- rules

    @rule(fault=FAULTS, victim=st.sampled_from(SANDBOXES))
    def break_something(self, fault: tuple[Fault, str], victim: str) -> None:
        kind, needs = fault
        if victim == "active":
            victim = self.drive(self.r.services.healer.active()).value
        named = {"sandbox": victim, "workspace": WORKSPACE.path}.get(needs, "")
        clock = self.r.clock
        apply_fault(
            self.r.world,
            ScheduledFault(clock.monotonic(), kind, named),
            now=clock.monotonic(),
            wall=clock.time(),
        )
        self.r.runtime.notice_world_change()

    @rule(seconds=st.sampled_from([1.0, 45.0, 300.0, 1200.0]))
    def let_time_pass(self, seconds: float) -> None:
        self.drive(self.r.clock.sleep(seconds))

    @rule(
        conversation=st.sampled_from((*CONVERSATIONS, None)),
        behaviour=st.sampled_from(
            [Behaviour.NORMAL] * 4 + [Behaviour.STALL, Behaviour.TRUNCATED],
        ),
    )
    def ask(self, conversation: str | None, behaviour: Behaviour) -> None:
        r = self.r
        before = None
        if conversation is not None:
            before = self.drive(r.store.conversation(conversation)).unwrap()
        for sandbox in r.world.sandboxes.values():
            sandbox.plans[:] = [Plan(behaviour)]

        reply = self.drive(
            r.services.asker.ask("hi", conversation=conversation)
        )

        for sandbox in r.world.sandboxes.values():
            sandbox.plans.clear()
        self.note_sessions()
        if not is_successful(reply):
            return
        answered = reply.unwrap()
        active = self.drive(r.services.healer.active())
        self.check_answering_sandbox(active)
        if before is not None and before.sandbox != active:
            # after a swap the next turn starts over, and says why
            assert any("new conversation" in n for n in answered.notes)
            assert "Earlier in this conversation" not in answered.text

    @rule()
    def watchdog_check(self) -> None:
        self.drive(self.r.services.watchdog.check())

    # -- checks

    def check_answering_sandbox(self, active: SandboxName) -> None:
        world = self.r.world
        sandbox = world.sandboxes[active.value]
        assert sandbox.mounts(WORKSPACE.path)
        state = sandbox.login.state_at(self.r.clock.time())
        assert state is LoginState.OAUTH or (
            state is LoginState.API_KEY and self.allowed_api_key
        )

    def heals(self) -> tuple[HealRecord, ...]:
        return self.drive(self.r.store.heal_history(100_000)).unwrap()

    @invariant()
    def failed_heals_stay_within_the_breaker_s_limit(self) -> None:
        policy = self.r.deps.config.breaker
        # a heal that flapped failed when the breakage undid it
        failed = sorted(
            at for h in self.heals() if (at := h.failed_at) is not None
        )
        for index, start in enumerate(failed):
            inside = [t for t in failed[index:] if t - start < policy.window]
            assert len(inside) <= policy.max_failures

    @invariant()
    def a_successful_heal_leaves_a_healthy_active_sandbox(self) -> None:
        heals = self.heals()
        new = heals[self.heals_seen :]
        self.heals_seen = len(heals)
        if not new:
            return
        last = new[-1]
        world = self.r.world
        if last.sandbox is not None:
            adopted = world.sandboxes.get(last.sandbox)
            if adopted is not None:
                assert adopted.mounts(WORKSPACE.path)
                state = adopted.login.state_at(self.r.clock.time())
                assert state is not LoginState.API_KEY or self.allowed_api_key
        if not last.succeeded:
            return
        # nothing changes the world within a rule but the warden, so the
        # healed sandbox must still be healthy now
        active = self.drive(self.r.services.healer.active())
        assert active.value == last.sandbox
        assert world.daemon_up
        assert world.plugin_present
        self.check_answering_sandbox(active)

    @invariant()
    def stored_sessions_belong_to_their_sandbox(self) -> None:
        for key in CONVERSATIONS:
            stored = self.drive(self.r.store.conversation(key)).unwrap()
            if stored is None:
                continue
            assert self.origin.get(stored.session_id.value) == (
                stored.sandbox.value
            )


WardenMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
)
test_the_warden_under_random_faults = WardenMachine.TestCase
