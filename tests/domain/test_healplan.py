from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from returns.pipeline import is_successful

from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.healplan import (
    HealCause,
    HealOutcome,
    HealPlan,
    HealTrigger,
    PlanContext,
    Step,
    StepKind,
    StepOutcome,
    advance,
    heal_trigger,
    next_step,
    start_plan,
)
from sandwarden.domain.sandbox import SandboxInfo, SandboxStatus
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

BOT = SandboxName("bot")
HEAL = SandboxName("bot-heal")
WORKSPACE = Workspace("/srv/bot")
TEMPLATE = ImageTag("bot-auth", "latest")
EXPIRED = WardenError(ErrorKind.AUTH, "OAuth token has expired")
MISSING = WardenError.unavailable(UnavailableReason.NOT_FOUND, "no sandbox")
WEDGED = WardenError.unavailable(UnavailableReason.WEDGED, "ls hung")
TIMED_OUT = WardenError(ErrorKind.TIMEOUT, "probe passed 30 s")


def context(**changes: object) -> PlanContext:
    base: dict[str, object] = {
        "primary": BOT,
        "workspace": WORKSPACE,
        "image_store": True,
        "template": TEMPLATE,
        "template_exists": True,
    }
    base.update(changes)
    return PlanContext(**base)  # type: ignore[arg-type]


def login_expired() -> HealTrigger:
    return heal_trigger(EXPIRED).unwrap()


def sandbox(
    name: str,
    workspace: str = "/srv/bot",
    agent: str = "claude",
    status: SandboxStatus = SandboxStatus.RUNNING,
) -> SandboxInfo:
    return SandboxInfo(name, agent, status, (workspace,))


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (WardenError.unavailable(UnavailableReason.NOT_FOUND, "gone"), "u"),
        (WardenError.unavailable(UnavailableReason.DAEMON_DOWN, "down"), "u"),
        (WardenError(ErrorKind.AUTH, "not logged in"), "a"),
        (WardenError(ErrorKind.TIMEOUT, "hard limit"), "t"),
        (WardenError(ErrorKind.STALLED, "silent"), "s"),
        (WardenError(ErrorKind.WORKSPACE_MISMATCH, "other path"), "w"),
        (WardenError(ErrorKind.PARITY_MISMATCH, "other commit"), "p"),
    ],
)
def test_eligible_failures_start_a_heal(
    error: WardenError, cause: str
) -> None:
    causes = {
        "u": HealCause.UNAVAILABLE,
        "a": HealCause.LOGIN,
        "t": HealCause.TIMEOUT,
        "s": HealCause.STALLED,
        "w": HealCause.WORKSPACE_MISMATCH,
        "p": HealCause.PARITY_MISMATCH,
    }

    trigger = heal_trigger(error).unwrap()

    assert trigger.cause is causes[cause]
    assert trigger.error == error


@pytest.mark.parametrize(
    ("error", "why"),
    [
        (WardenError(ErrorKind.USAGE_LIMIT, "limit hit"), "account"),
        (WardenError(ErrorKind.BILLING_GUARD, "api key"), "bill"),
        (WardenError(ErrorKind.API_ERROR, "overloaded"), "same API"),
        (WardenError(ErrorKind.SESSION_NOT_FOUND, "gone"), "conversation"),
        (WardenError(ErrorKind.BREAKER_OPEN, "paused"), "breaker"),
        (
            WardenError.unavailable(UnavailableReason.PLUGIN_MISSING, "no"),
            "install",
        ),
    ],
)
def test_other_failures_are_refused_with_the_reason(
    error: WardenError,
    why: str,
) -> None:
    result = heal_trigger(error)

    assert not is_successful(result)
    refusal = result.failure()
    assert refusal.kind is error.kind
    assert refusal.reason is error.reason
    assert refusal.message.startswith("not healed: ")
    assert why in refusal.message
    assert refusal.detail == error.message


def test_every_error_kind_has_an_answer() -> None:
    for kind in ErrorKind:
        result = heal_trigger(WardenError(kind, "x"))

        assert is_successful(result) or result.failure().message


def test_a_healthy_heal_sandbox_is_reused_first() -> None:
    plan = start_plan(login_expired(), context())

    step = next_step(plan)
    plan = advance(plan, StepOutcome.healthy())

    assert step == Step(
        StepKind.REUSE_HEAL_SANDBOX,
        HEAL,
        workspace=WORKSPACE,
    )
    assert plan.succeeded
    assert plan.swap_to == HEAL
    assert plan.sentences() == ("reuse heal sandbox bot-heal: healthy",)


def test_then_the_heal_sandbox_is_created_from_the_template() -> None:
    plan = start_plan(login_expired(), context())
    plan = advance(plan, StepOutcome.unhealthy(MISSING))

    step = next_step(plan)

    assert step.kind is StepKind.CREATE_FROM_TEMPLATE
    assert step.sandbox == HEAL
    assert step.template == TEMPLATE
    assert not step.replace_existing


def test_a_broken_heal_sandbox_is_replaced_by_the_template_copy() -> None:
    plan = start_plan(login_expired(), context())
    plan = advance(plan, StepOutcome.unhealthy(WEDGED))

    step = next_step(plan)

    assert step.kind is StepKind.CREATE_FROM_TEMPLATE
    assert step.replace_existing


def test_with_the_image_store_down_the_template_step_is_skipped() -> None:
    plan = start_plan(login_expired(), context(image_store=False))
    plan = advance(plan, StepOutcome.unhealthy(MISSING))

    assert next_step(plan).kind is StepKind.DISCOVER
    assert plan.sentences()[1] == (
        "create bot-heal from bot-auth:latest: skipped, "
        "image store unreachable (Docker Desktop down)"
    )


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"template": None}, "no template configured"),
        (
            {"template_exists": False},
            "template bot-auth:latest not found in the image store",
        ),
    ],
)
def test_a_missing_template_is_skipped_with_the_reason(
    changes: dict[str, object],
    why: str,
) -> None:
    plan = start_plan(login_expired(), context(**changes))
    plan = advance(plan, StepOutcome.unhealthy(MISSING))

    assert next_step(plan).kind is StepKind.DISCOVER
    assert plan.sentences()[1].endswith(f"skipped, {why}")


def discovering(**changes: object) -> HealPlan:
    plan = start_plan(
        heal_trigger(MISSING).unwrap(),
        context(image_store=False, **changes),
    )
    return advance(plan, StepOutcome.unhealthy(MISSING))


def test_only_claude_sandboxes_of_the_same_workspace_are_candidates() -> None:
    plan = discovering()

    plan = advance(
        plan,
        StepOutcome.listed(
            [
                sandbox("bot"),
                sandbox("bot-heal"),
                sandbox("other-path", workspace="/srv/elsewhere"),
                sandbox("codex", agent="codex"),
                sandbox("Bad Name!"),
                sandbox("stopped", status=SandboxStatus.STOPPED),
                sandbox("ro", workspace="/srv/bot:ro"),
                sandbox("good"),
            ],
        ),
    )

    assert plan.candidates == (
        SandboxName("ro"),
        SandboxName("good"),
        SandboxName("stopped"),
    )
    sentence = plan.sentences()[-1]
    assert "bot (the sandbox that failed)" in sentence
    assert "bot-heal (already tried)" in sentence
    assert "other-path (workspace /srv/elsewhere)" in sentence
    assert "codex (agent codex)" in sentence


def test_the_first_candidate_that_probes_healthy_is_adopted() -> None:
    plan = advance(
        discovering(),
        StepOutcome.listed([sandbox("one"), sandbox("two")]),
    )

    first = next_step(plan)
    plan = advance(plan, StepOutcome.unhealthy(EXPIRED))
    second = next_step(plan)
    plan = advance(plan, StepOutcome.healthy())

    assert (first.kind, first.sandbox, first.candidates_left) == (
        StepKind.ADOPT,
        SandboxName("one"),
        1,
    )
    assert second.sandbox == SandboxName("two")
    assert plan.succeeded
    assert plan.swap_to == SandboxName("two")


def test_the_resolved_workspace_also_matches() -> None:
    plan = advance(
        discovering(resolved_workspace="/data/bot"),
        StepOutcome.listed([sandbox("linked", workspace="/data/bot")]),
    )

    assert plan.candidates == (SandboxName("linked"),)


def test_candidates_are_capped_and_the_rest_reported() -> None:
    plan = advance(
        discovering(max_candidates=2),
        StepOutcome.listed([sandbox(f"s{i}") for i in range(4)]),
    )

    assert len(plan.candidates) == 2
    assert "over the limit of 2 probes" in plan.sentences()[-1]


def test_with_nothing_left_a_fresh_sandbox_is_created() -> None:
    plan = advance(discovering(), StepOutcome.listed([]))

    step = next_step(plan)

    assert step.kind is StepKind.CREATE_FRESH
    assert step.sandbox == HEAL
    assert not step.replace_existing


def test_a_fresh_sandbox_that_needs_a_login_is_a_partial_heal() -> None:
    plan = advance(discovering(), StepOutcome.listed([]))

    plan = advance(plan, StepOutcome.unhealthy(EXPIRED))

    assert plan.finished
    assert not plan.succeeded
    assert plan.needs_login
    assert plan.swap_to == HEAL
    assert next_step(plan) == Step(
        StepKind.DONE,
        HEAL,
        outcome=HealOutcome.NEEDS_LOGIN,
    )
    assert plan.sentences()[-1].startswith(
        "create fresh sandbox bot-heal: created, not usable yet"
    )


def test_a_failed_fresh_create_gives_up_with_the_error() -> None:
    plan = advance(discovering(), StepOutcome.failed(TIMED_OUT))

    plan = advance(plan, StepOutcome.failed(WEDGED))

    assert next_step(plan) == Step(
        StepKind.GIVE_UP,
        outcome=HealOutcome.FAILED,
        error=WEDGED,
    )
    record = plan.record(10.0, 20.0)
    assert not record.succeeded
    assert record.sandbox is None
    assert record.steps[2] == (
        "discover sandboxes: failed, timeout: probe passed 30 s"
    )


def test_a_sandbox_that_only_lacks_a_login_is_not_recreated() -> None:
    plan = start_plan(login_expired(), context(template=None))
    plan = advance(plan, StepOutcome.unhealthy(EXPIRED))
    plan = advance(plan, StepOutcome.listed([]))

    assert plan.needs_login
    assert plan.swap_to == HEAL
    assert plan.sentences()[-1] == (
        "create fresh sandbox: skipped, bot-heal exists and only needs a login"
    )


def test_the_failed_sandbox_lacking_a_login_is_kept_for_the_operator() -> None:
    plan = start_plan(login_expired(), context(template=None))
    plan = advance(plan, StepOutcome.unhealthy(MISSING))
    plan = advance(plan, StepOutcome.listed([]))

    assert plan.needs_login
    assert plan.swap_to == BOT


def test_a_failed_heal_sandbox_is_not_reused_by_its_own_heal() -> None:
    plan = start_plan(
        heal_trigger(TIMED_OUT).unwrap(),
        context(failed=HEAL),
    )

    step = next_step(plan)

    assert step.kind is StepKind.CREATE_FROM_TEMPLATE
    assert step.replace_existing
    assert plan.sentences() == (
        "reuse heal sandbox bot-heal: skipped, it is the sandbox that failed",
    )


def test_when_the_heal_sandbox_failed_the_primary_may_be_adopted() -> None:
    plan = start_plan(
        heal_trigger(TIMED_OUT).unwrap(),
        context(failed=HEAL, image_store=False),
    )

    plan = advance(plan, StepOutcome.listed([sandbox("bot")]))

    assert plan.candidates == (BOT,)


def test_an_outcome_that_does_not_fit_the_step_is_a_bug() -> None:
    plan = start_plan(login_expired(), context())

    with pytest.raises(ValueError, match="does not fit"):
        advance(plan, StepOutcome.listed([]))
    with pytest.raises(ValueError, match="must carry its error"):
        advance(plan, StepOutcome(StepOutcome.failed(MISSING).kind))


def test_a_finished_plan_cannot_advance() -> None:
    plan = advance(
        start_plan(login_expired(), context()),
        StepOutcome.healthy(),
    )

    with pytest.raises(ValueError, match="has ended"):
        advance(plan, StepOutcome.healthy())


def test_a_record_carries_the_trigger_and_the_sandbox() -> None:
    plan = advance(
        start_plan(login_expired(), context()),
        StepOutcome.healthy(),
    )

    record = plan.record(100.0, 130.0)

    assert record.trigger == "auth: OAuth token has expired"
    assert record.succeeded
    assert record.sandbox == "bot-heal"


def test_an_operator_can_request_a_heal() -> None:
    trigger = HealTrigger.requested("manual heal from the CLI")

    assert trigger.describe() == "requested: manual heal from the CLI"


# The order of the specification, by step kind.
RANK = {
    StepKind.REUSE_HEAL_SANDBOX: 0,
    StepKind.CREATE_FROM_TEMPLATE: 1,
    StepKind.DISCOVER: 2,
    StepKind.ADOPT: 3,
    StepKind.CREATE_FRESH: 4,
}
NAMES = ["bot", "bot-heal", "alpha", "beta", "gamma", "Bad Name!"]
PATHS = ["/srv/bot", "/srv/bot/", "/srv/other", "/srv/bot:ro"]
listed_sandboxes = st.lists(
    st.builds(
        sandbox,
        name=st.sampled_from(NAMES),
        workspace=st.sampled_from(PATHS),
        agent=st.sampled_from(["claude", "codex"]),
        status=st.sampled_from(list(SandboxStatus)),
    ),
    max_size=8,
)
errors = st.sampled_from([EXPIRED, MISSING, WEDGED, TIMED_OUT])


class HealPlanMachine(RuleBasedStateMachine):
    """A service carrying out a heal plan while the world answers anyhow."""

    def __init__(self) -> None:
        super().__init__()
        self.plan = start_plan(login_expired(), context())
        self.issued: list[Step] = []
        self.listing: tuple[SandboxInfo, ...] = ()
        self.healthy: SandboxName | None = None

    @initialize(
        image_store=st.booleans(),
        template=st.none() | st.just(TEMPLATE),
        template_exists=st.sampled_from([None, True, False]),
        failed=st.sampled_from([BOT, HEAL]),
        error=errors,
        max_candidates=st.integers(0, 3),
    )
    def begin(  # noqa: PLR0917
        self,
        image_store: bool,
        template: ImageTag | None,
        template_exists: bool | None,
        failed: SandboxName,
        error: WardenError,
        max_candidates: int,
    ) -> None:
        self.plan = start_plan(
            heal_trigger(error).unwrap(),
            context(
                image_store=image_store,
                template=template,
                template_exists=template_exists,
                failed=failed,
                max_candidates=max_candidates,
            ),
        )

    @precondition(lambda self: not self.plan.finished)
    @rule(data=st.data())
    def carry_out_a_step(self, data: st.DataObject) -> None:
        step = next_step(self.plan)
        self.check(step)

        if step.kind is StepKind.DISCOVER:
            outcome = data.draw(
                st.builds(StepOutcome.listed, listed_sandboxes)
                | st.builds(StepOutcome.failed, errors),
            )
            self.listing = outcome.sandboxes
        else:
            outcome = data.draw(
                st.just(StepOutcome.healthy())
                | st.builds(StepOutcome.unhealthy, errors)
                | st.builds(StepOutcome.failed, errors),
            )
            if outcome == StepOutcome.healthy():
                self.healthy = step.sandbox
        self.issued.append(step)
        self.plan = advance(self.plan, outcome)

    @precondition(lambda self: self.plan.finished)
    @rule()
    def a_finished_plan_stays_finished(self) -> None:
        step = next_step(self.plan)

        assert step.kind in {StepKind.DONE, StepKind.GIVE_UP}
        assert step.sandbox == self.plan.swap_to
        with pytest.raises(ValueError, match="has ended"):
            advance(self.plan, StepOutcome.healthy())

    def check(self, step: Step) -> None:
        context = self.plan.context
        if self.issued:
            assert RANK[step.kind] >= RANK[self.issued[-1].kind]
            if step.kind is not StepKind.ADOPT:
                assert step.kind is not self.issued[-1].kind
        if step.kind is StepKind.CREATE_FROM_TEMPLATE:
            assert context.image_store
            assert context.template is not None
            assert context.template_exists is not False
        if step.kind is StepKind.REUSE_HEAL_SANDBOX:
            assert context.failed_name != HEAL
        if step.kind is StepKind.ADOPT:
            assert step.sandbox is not None
            self.check_adoptable(step.sandbox)

    def check_adoptable(self, name: SandboxName) -> None:
        context = self.plan.context
        assert name not in {context.failed_name, HEAL}
        assert name not in {s.sandbox for s in self.issued}
        assert any(
            info.name == name.value
            and info.agent == "claude"
            and WORKSPACE.matches(info.workspaces[0])
            for info in self.listing
        )

    @invariant()
    def it_stays_within_its_step_bound(self) -> None:
        assert self.plan.steps_taken <= self.plan.max_steps

    @invariant()
    def every_step_and_skip_is_recorded(self) -> None:
        done = [e for e in self.plan.entries if e.status != "skipped"]
        skipped = [e for e in self.plan.entries if e.status == "skipped"]

        assert [e.step for e in done] == [s.kind for s in self.issued]
        context = self.plan.context
        template_skipped = any(
            e.step is StepKind.CREATE_FROM_TEMPLATE for e in skipped
        )
        if not context.image_store and passed_templates(self.plan):
            assert template_skipped
            assert any("image store unreachable" in e.note for e in skipped)

    @invariant()
    def a_heal_ends_on_what_it_saw(self) -> None:
        plan = self.plan
        if plan.succeeded:
            assert plan.swap_to == self.healthy
            assert self.issued[-1].sandbox == self.healthy
        if plan.needs_login:
            assert plan.swap_to in {plan.context.failed_name, HEAL}
        if plan.stage is StepKind.GIVE_UP:
            assert self.issued[-1].kind is StepKind.CREATE_FRESH

    def teardown(self) -> None:
        # Whatever happened so far, failing every step from here must end
        # the plan within its bound.
        for _ in range(self.plan.max_steps + 1):
            if self.plan.finished:
                break
            self.plan = advance(self.plan, StepOutcome.failed(WEDGED))
        assert self.plan.finished
        assert self.plan.steps_taken <= self.plan.max_steps


def passed_templates(plan: HealPlan) -> bool:
    if not plan.finished and RANK[plan.stage] > 1:
        return True
    return any(RANK[entry.step] > 1 for entry in plan.entries)


HealPlanMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=15,
    deadline=None,
)
TestHealPlanMachine = HealPlanMachine.TestCase
