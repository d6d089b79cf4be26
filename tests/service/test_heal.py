from __future__ import annotations

import asyncio
import dataclasses

from returns.pipeline import is_successful
from returns.result import Result

from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.healplan import HealOutcome
from sandwarden.domain.sandbox import Capabilities, Operation
from sandwarden.service.heal import HealReport
from sandwarden.service.services import Services
from sandwarden.simulator.runtime import SimulatedRuntime
from sandwarden.simulator.world import (
    Behaviour,
    Login,
    LoginMethod,
    Plan,
    Tool,
)
from tests.service.simrig import HEAL, PRIMARY, Rig, add_sandbox, rig

GONE = WardenError.unavailable(UnavailableReason.NOT_FOUND, "gone")
LOGGED_OUT = WardenError(ErrorKind.AUTH, "not logged in")


def test_a_healthy_heal_sandbox_is_reused() -> None:
    r = rig()
    add_sandbox(r.world, HEAL.value)

    report = r.run(r.services.healer.heal(GONE)).unwrap()

    assert report.outcome is HealOutcome.HEALED
    assert report.steps == ("reuse heal sandbox bot-heal: healthy",)
    assert r.run(r.store.active_sandbox()).unwrap() == HEAL


def test_the_heal_sandbox_is_created_from_the_template() -> None:
    r = rig()

    report = r.run(r.services.healer.heal(LOGGED_OUT)).unwrap()

    assert report.usable
    assert report.swapped
    assert r.world.sandboxes[HEAL.value].template == "bot-auth:latest"
    assert "active sandbox is now bot-heal (was bot)" in r.messages("swap")


def test_without_the_image_store_a_healthy_sandbox_is_adopted() -> None:
    r = rig()
    r.world.image_store_up = False
    add_sandbox(r.world, "elsewhere", workspace="/srv/other")
    add_sandbox(r.world, "spare")

    report = r.run(r.services.healer.heal(LOGGED_OUT)).unwrap()

    assert report.sandbox is not None
    assert report.sandbox.value == "spare"
    assert any("image store unreachable" in s for s in report.steps)
    assert any("elsewhere (workspace /srv/other)" in s for s in report.steps)
    # every entry of the plan is noted, not only the last of a step
    assert all(step in r.messages("heal_step") for step in report.steps)


def test_an_api_key_sandbox_is_never_adopted() -> None:
    r = rig(template=False)
    add_sandbox(r.world, "keyed", login=Login(LoginMethod.API_KEY))
    del r.world.sandboxes[PRIMARY.value]

    report = r.run(r.services.healer.heal(GONE)).unwrap()

    assert report.outcome is HealOutcome.NEEDS_LOGIN
    assert report.sandbox == HEAL
    assert any(
        "adopt keyed: unhealthy, billing_guard" in s for s in report.steps
    )
    codes = [alert.code for alert in r.alerts.alerts]
    assert codes == ["login_needed"]
    assert "bot-heal" in (r.alerts.alerts[0].action or "")


def test_an_ineligible_failure_is_refused_without_a_heal() -> None:
    r = rig()

    refused = r.run(
        r.services.healer.heal(WardenError(ErrorKind.USAGE_LIMIT, "limit")),
    )

    assert refused.failure().kind is ErrorKind.USAGE_LIMIT
    assert "not healed" in refused.failure().message
    assert r.run(r.store.heal_history(10)).unwrap() == ()


def test_three_failed_heals_open_the_breaker_and_alert_once() -> None:
    r = rig()
    r.world.daemon_up = False

    async def heals() -> list[str]:
        results = []
        for _ in range(4):
            result = await r.services.healer.heal(GONE)
            results.append("ran" if result.value_or(None) else "refused")
            await r.clock.sleep(60)
        return results

    results = r.run(heals())

    assert results == ["ran", "ran", "ran", "refused"]
    codes = [alert.code for alert in r.alerts.alerts]
    assert codes.count("breaker_open") == 1


def test_a_sandbox_that_breaks_soon_after_its_heal_counts_as_failed() -> None:
    r = rig()

    async def flap() -> list[bool]:
        allowed = []
        for _ in range(4):
            result = await r.services.healer.heal(LOGGED_OUT)
            allowed.append(result.value_or(None) is not None)
            await r.clock.sleep(120)
        return allowed

    allowed = r.run(flap())

    heals = r.run(r.store.heal_history(10)).unwrap()
    assert all(h.succeeded for h in heals)
    # heals 2, 3 and 4 each report the previous one broke: the third
    # breakage opens the breaker and refuses the fourth heal
    assert allowed == [True, True, True, False]
    # each breakage undid the heal before it, and the history says so
    assert [h.flapped for h in heals] == [True, True, True]
    assert [h.undone_at for h in heals[:2]] == [
        h.started_at for h in heals[1:]
    ]


def test_after_the_window_one_trial_heal_is_allowed() -> None:
    r = rig()
    r.world.daemon_up = False

    async def scenario() -> bool:
        for _ in range(3):
            await r.services.healer.heal(GONE)
        r.world.daemon_up = True
        await r.clock.sleep(16 * 60)
        trial = await r.services.healer.heal(GONE)
        return trial.unwrap().usable

    assert r.run(scenario())
    assert "breaker closed" in r.messages("breaker")


def test_two_healers_over_one_store_heal_once() -> None:
    r = rig()
    other = r.twin()

    async def both() -> tuple[bool, bool]:
        first, second = await asyncio.gather(
            r.services.healer.heal(LOGGED_OUT),
            other.healer.heal(LOGGED_OUT),
        )
        return (
            first.unwrap().by_other_process,
            second.unwrap().by_other_process,
        )

    by_other = r.run(both())

    assert sorted(by_other) == [False, True]
    assert len(r.run(r.store.heal_history(10)).unwrap()) == 1
    assert any("another process healed" in m for m in r.messages("heal"))


def test_the_login_alert_names_the_sbx_commands_under_sbx() -> None:
    r = rig(template=False)
    r.world.tool = Tool.SBX
    del r.world.sandboxes[PRIMARY.value]

    report = r.run(r.services.healer.heal(GONE)).unwrap()

    assert report.needs_login
    action = r.alerts.alerts[0].action or ""
    assert "`sbx exec -it bot-heal claude`" in action
    assert "docker sandbox" not in action
    assert report.login_action == action


def test_the_login_alert_names_the_plugin_commands_under_docker() -> None:
    r = rig(template=False)
    del r.world.sandboxes[PRIMARY.value]

    report = r.run(r.services.healer.heal(GONE)).unwrap()

    action = r.alerts.alerts[0].action or ""
    assert "`docker sandbox exec -it bot-heal claude`" in action
    assert report.login_action == action


def test_concurrent_heals_of_one_failure_in_one_process_heal_once() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].login.method = LoginMethod.NONE

    async def both() -> tuple[HealReport, HealReport]:
        first, second = await asyncio.gather(
            r.services.healer.heal(LOGGED_OUT),
            r.services.healer.heal(LOGGED_OUT),
        )
        return first.unwrap(), second.unwrap()

    first, second = r.run(both())

    assert first.outcome is HealOutcome.HEALED
    assert second.outcome is None
    assert second.usable
    assert second.sandbox == HEAL
    assert not second.by_other_process
    assert len(r.run(r.store.heal_history(10)).unwrap()) == 1
    # the second heal is no breakage of the first: nothing failed
    assert r.run(r.store.breaker()).unwrap().failures == ()


def test_concurrent_heals_of_the_heal_sandbox_recreate_it_once() -> None:
    r = rig()
    r.run(r.services.healer.heal(LOGGED_OUT))
    r.world.sandboxes[HEAL.value].login.method = LoginMethod.NONE

    async def both() -> tuple[HealReport, HealReport]:
        first, second = await asyncio.gather(
            r.services.healer.heal(LOGGED_OUT, failed=HEAL),
            r.services.healer.heal(LOGGED_OUT, failed=HEAL),
        )
        return first.unwrap(), second.unwrap()

    first, second = r.run(both())

    assert first.outcome is HealOutcome.HEALED
    assert second.outcome is None
    assert len(r.run(r.store.heal_history(10)).unwrap()) == 2
    assert len(r.run(r.store.breaker()).unwrap().failures) == 1


def test_a_turn_stalled_in_a_replaced_sandbox_uses_the_new_one() -> None:
    r = rig(prompt_limits=Limits(3600.0, 600.0))
    r.world.sandboxes[PRIMARY.value].plans.append(Plan(Behaviour.STALL))

    async def scenario() -> tuple[str, float, float]:
        turn = asyncio.ensure_future(
            r.services.asker.ask("long job", conversation="c"),
        )
        await r.clock.sleep(120)
        r.world.sandboxes[PRIMARY.value].login.method = LoginMethod.NONE
        healed = await r.services.healer.heal(LOGGED_OUT)
        assert healed.unwrap().sandbox == HEAL
        created = r.world.sandboxes[HEAL.value].created_at
        reply = (await turn).unwrap()
        return reply.text, created, r.world.sandboxes[HEAL.value].created_at

    text, created, still_created = r.run(scenario())

    assert text == "You said: long job"
    # the healthy serving sandbox was neither removed nor recreated
    assert still_created == created
    assert len(r.run(r.store.heal_history(10)).unwrap()) == 1
    assert r.run(r.store.breaker()).unwrap().failures == ()
    assert r.run(r.store.active_sandbox()).unwrap() == HEAL


def test_a_stale_failure_heals_the_serving_sandbox_when_it_broke_too() -> None:
    r = rig(prompt_limits=Limits(3600.0, 600.0))
    r.world.sandboxes[PRIMARY.value].plans.append(Plan(Behaviour.STALL))

    async def scenario() -> tuple[bool, str]:
        turn = asyncio.ensure_future(r.services.asker.ask("long job"))
        await r.clock.sleep(120)
        r.world.sandboxes[PRIMARY.value].login.method = LoginMethod.NONE
        await r.services.healer.heal(LOGGED_OUT)
        r.world.sandboxes[HEAL.value].login.method = LoginMethod.NONE
        reply = await turn
        return is_successful(reply), reply.unwrap().text

    answered, text = r.run(scenario())

    assert answered
    assert text == "You said: long job"
    assert any(m.startswith("healing bot-heal") for m in r.messages())
    # the serving sandbox broke soon after its heal: that heal flapped
    assert len(r.run(r.store.breaker()).unwrap().failures) == 1


class NoCreateRuntime(SimulatedRuntime):
    """A runtime of an old plugin: everything but ``create``."""

    async def capabilities(self) -> Result[Capabilities, WardenError]:
        offered = await super().capabilities()
        return offered.map(
            lambda c: dataclasses.replace(
                c,
                version="v0.6.0",
                operations=c.operations - {Operation.CREATE},
            ),
        )


def without_create(r: Rig) -> Services:
    runtime = NoCreateRuntime(r.world, r.clock)
    return Services.build(dataclasses.replace(r.deps, runtime=runtime))


def test_an_operators_heal_of_a_healthy_sandbox_changes_nothing() -> None:
    r = rig()
    before = r.run(r.store.breaker()).unwrap()

    report = r.run(r.services.healer.heal(None)).unwrap()
    forced = r.run(r.services.healer.heal(None, force=True)).unwrap()

    assert report == forced
    assert report.summary == "bot is healthy; nothing to heal"
    assert report.usable
    assert report.outcome is None
    assert not report.swapped
    assert report.steps == ()
    assert set(r.world.sandboxes) == {PRIMARY.value}
    assert r.run(r.store.heal_history(10)).unwrap() == ()
    assert r.run(r.store.breaker()).unwrap() == before


def test_an_operators_heal_keeps_a_healthy_heal_sandbox_it_made() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].login.method = LoginMethod.NONE
    first = r.run(r.services.healer.heal(None)).unwrap()
    made = r.world.sandboxes[HEAL.value]

    again = r.run(r.services.healer.heal(None)).unwrap()

    assert first.outcome is HealOutcome.HEALED
    assert first.steps[0] == "reuse heal sandbox bot-heal: not there yet"
    assert again.summary == "bot-heal is healthy; nothing to heal"
    assert r.world.sandboxes[HEAL.value] is made
    assert len(r.run(r.store.heal_history(10)).unwrap()) == 1


def test_a_tool_without_create_removes_no_sandbox() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].login.method = LoginMethod.NONE
    waiting = add_sandbox(r.world, HEAL.value, login=Login(LoginMethod.NONE))
    services = without_create(r)

    report = r.run(services.healer.heal(LOGGED_OUT)).unwrap()

    assert r.world.sandboxes[HEAL.value] is waiting
    assert report.outcome is HealOutcome.NEEDS_LOGIN
    assert report.sandbox == HEAL
    assert report.steps[1] == (
        "create bot-heal from bot-auth:latest: skipped, the sandbox tool "
        "(docker-sandbox v0.6.0) cannot create sandboxes; nothing was removed"
    )


def test_a_tool_without_create_gives_up_with_the_reason() -> None:
    r = rig()
    del r.world.sandboxes[PRIMARY.value]
    services = without_create(r)

    report = r.run(services.healer.heal(GONE)).unwrap()

    assert report.outcome is HealOutcome.FAILED
    assert not report.usable
    assert set(r.world.sandboxes) == set()
    assert report.steps[-1].startswith(
        "create fresh sandbox bot-heal: skipped, the sandbox tool",
    )


def test_create_fresh_keeps_a_heal_sandbox_that_only_lacks_a_login() -> None:
    r = rig(template=False)
    r.world.sandboxes[PRIMARY.value].login.method = LoginMethod.NONE
    waiting = add_sandbox(r.world, HEAL.value, login=Login(LoginMethod.NONE))
    r.run(r.store.set_active_sandbox(HEAL))
    stalled = WardenError(ErrorKind.STALLED, "no output for 600 s")

    first = r.run(r.services.healer.heal(stalled, failed=HEAL)).unwrap()
    second = r.run(r.services.healer.heal(stalled, failed=HEAL)).unwrap()

    assert r.world.sandboxes[HEAL.value] is waiting
    assert first.outcome is second.outcome is HealOutcome.NEEDS_LOGIN
    assert first.sandbox == HEAL
    assert first.steps[-1] == (
        "create fresh sandbox bot-heal: kept, it exists and only needs a login"
    )
    assert "bot-heal" in (first.login_action or "")


def test_a_missing_plugin_is_named_as_the_template_steps_cause() -> None:
    r = rig()
    r.world.plugin_present = False

    report = r.run(r.services.healer.heal(GONE)).unwrap()

    template = report.steps[1]
    assert template.startswith(
        "create bot-heal from bot-auth:latest: skipped, the sandbox tool "
        "did not answer (",
    )
    assert not any("image store" in step for step in report.steps)
