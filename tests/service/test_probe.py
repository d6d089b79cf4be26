from __future__ import annotations

import asyncio
import dataclasses

from returns.pipeline import is_successful
from returns.result import Result

from sandwarden.domain.errors import (
    ErrorKind,
    UnavailableReason,
    WardenError,
)
from sandwarden.domain.sandbox import SandboxInfo
from sandwarden.domain.values import SandboxName
from sandwarden.service.probe import Health, Prober
from sandwarden.simulator.clock import VirtualClock
from sandwarden.simulator.runtime import SimulatedRuntime
from sandwarden.simulator.world import Login, LoginMethod
from tests.service.simrig import (
    HEAL,
    PRIMARY,
    WORKSPACE,
    Rig,
    add_sandbox,
    rig,
)


def test_a_logged_in_sandbox_on_the_workspace_probes_healthy() -> None:
    r = rig()

    health = r.run(r.services.prober.probe(PRIMARY))

    assert is_successful(health)
    assert health.unwrap().sandbox == PRIMARY
    assert r.messages("probe") == ["bot is healthy"]


def test_a_missing_sandbox_is_unavailable_not_found() -> None:
    r = rig(primary=False)

    health = r.run(r.services.prober.probe(PRIMARY))

    error = health.failure()
    assert error.kind is ErrorKind.SANDBOX_UNAVAILABLE
    assert error.reason is UnavailableReason.NOT_FOUND
    assert "bot" in error.message


def test_a_sandbox_on_another_path_is_a_mismatch_naming_both() -> None:
    r = rig(primary=False)
    add_sandbox(r.world, PRIMARY.value, workspace="/srv/old")

    health = r.run(r.services.prober.probe(PRIMARY))

    error = health.failure()
    assert error.kind is ErrorKind.WORKSPACE_MISMATCH
    assert "/srv/old" in error.message
    assert WORKSPACE.path in error.message


def test_a_logged_out_sandbox_fails_as_auth() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.NONE)

    health = r.run(r.services.prober.probe(PRIMARY))

    assert health.failure().kind is ErrorKind.AUTH


def test_an_api_key_login_is_refused_by_the_billing_guard() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.API_KEY)

    health = r.run(r.services.prober.probe(PRIMARY))

    assert health.failure().kind is ErrorKind.BILLING_GUARD


def test_a_logged_out_configured_sandbox_hints_the_plain_login() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.NONE)

    health = r.run(r.services.prober.probe(PRIMARY))

    assert "`sandwarden login`" in health.failure().message


def test_a_logged_out_heal_sandbox_hints_the_login_of_that_sandbox() -> None:
    r = rig()
    add_sandbox(r.world, HEAL.value, login=Login(LoginMethod.NONE))

    health = r.run(r.services.prober.probe(HEAL))

    error = health.failure()
    assert error.kind is ErrorKind.AUTH
    assert "`sandwarden login --sandbox bot-heal`" in error.message
    assert "`sandwarden login`" not in error.message


def test_an_api_key_heal_sandbox_hints_the_login_of_that_sandbox() -> None:
    r = rig()
    add_sandbox(r.world, HEAL.value, login=Login(LoginMethod.API_KEY))

    health = r.run(r.services.prober.probe(HEAL))

    error = health.failure()
    assert error.kind is ErrorKind.BILLING_GUARD
    assert "`sandwarden login --sandbox bot-heal`" in error.message


def test_an_api_key_login_is_accepted_when_allowed() -> None:
    r = rig(allow_api_key=True)
    r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.API_KEY)

    health = r.run(r.services.prober.probe(PRIMARY))

    assert is_successful(health)


def test_an_old_cli_is_probed_with_the_plain_status() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].claude.auth_json = False

    health = r.run(r.services.prober.probe(PRIMARY))

    assert is_successful(health)
    runs = [e.what for e in r.world.events if ": claude auth status" in e.what]
    assert runs[-1].endswith(": claude auth status")


def test_parity_drift_fails_only_when_parity_is_checked() -> None:
    r = rig(check_parity=True)
    r.world.host_heads[WORKSPACE.path] = "b" * 40

    checked = r.run(r.services.prober.probe(PRIMARY))
    unchecked = r.run(r.services.prober.probe(PRIMARY, parity=False))

    assert checked.failure().kind is ErrorKind.PARITY_MISMATCH
    assert is_successful(unchecked)


def test_a_workspace_that_is_no_repository_is_not_a_parity_failure() -> None:
    r = rig(check_parity=True)
    r.world.host_heads[WORKSPACE.path] = None
    r.world.sandboxes[PRIMARY.value].heads[WORKSPACE.path] = None

    health = r.run(r.services.prober.probe(PRIMARY))

    assert is_successful(health)


def test_a_healthy_answer_is_cached_briefly_then_probed_again() -> None:
    r = rig(probe_cache=30.0)

    async def scenario() -> list[int]:
        prober = r.services.prober
        counts = []
        await prober.cached(PRIMARY)
        counts.append(len(r.messages("probe")))
        await r.clock.sleep(10)
        await prober.cached(PRIMARY)
        counts.append(len(r.messages("probe")))
        await r.clock.sleep(30)
        await prober.cached(PRIMARY)
        counts.append(len(r.messages("probe")))
        return counts

    assert r.run(scenario()) == [1, 1, 2]


def test_a_failure_drops_the_cached_answer() -> None:
    r = rig(probe_cache=300.0)

    async def scenario() -> bool:
        prober = r.services.prober
        await prober.cached(PRIMARY)
        r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.NONE)
        await prober.probe(PRIMARY)
        r.world.sandboxes[PRIMARY.value].login = Login()
        before = len(r.messages("probe"))
        await prober.cached(PRIMARY)
        return len(r.messages("probe")) > before

    assert r.run(scenario())


def test_a_daemon_down_is_unavailable_daemon_down() -> None:
    r = rig()
    r.world.daemon_up = False

    health = r.run(r.services.prober.probe(PRIMARY))

    assert health.failure().reason is UnavailableReason.DAEMON_DOWN


class CountedRuntime(SimulatedRuntime):
    """
    The simulated tool, counting its lists.

    ``answer_after`` holds each list's answer back for that long after it
    was read: the list a slow tool returns reflects the world as it was.
    """

    def __init__(self, r: Rig, answer_after: float = 0.0) -> None:
        super().__init__(r.world, r.clock)
        self.lists = 0
        self._clock: VirtualClock = r.clock
        self._answer_after = answer_after

    async def list(self) -> Result[tuple[SandboxInfo, ...], WardenError]:
        self.lists += 1
        listed = await super().list()
        await self._clock.sleep(self._answer_after)
        return listed


def counted_prober(
    r: Rig,
    answer_after: float = 0.0,
) -> tuple[Prober, CountedRuntime]:
    runtime = CountedRuntime(r, answer_after)
    return Prober(dataclasses.replace(r.deps, runtime=runtime)), runtime


def test_concurrent_probes_share_one_list_of_the_sandboxes() -> None:
    r = rig()
    names = [SandboxName(f"bot-{index}") for index in range(20)]
    for name in names:
        add_sandbox(r.world, name.value)
    prober, runtime = counted_prober(r)

    async def fan_out() -> list[Result[Health, WardenError]]:
        return await asyncio.gather(*(prober.probe(n) for n in names))

    healths = r.run(fan_out())

    assert all(is_successful(health) for health in healths)
    assert [h.unwrap().sandbox for h in healths] == names
    assert runtime.lists == 1


def test_probes_one_after_another_list_afresh_each_time() -> None:
    r = rig()
    prober, runtime = counted_prober(r)

    async def twice() -> tuple[bool, bool]:
        first = await prober.probe(PRIMARY)
        r.world.sandboxes.pop(PRIMARY.value)
        second = await prober.probe(PRIMARY)
        return is_successful(first), is_successful(second)

    assert r.run(twice()) == (True, False)
    assert runtime.lists == 2


def test_a_sandbox_created_during_a_shared_list_is_still_found() -> None:
    r = rig()
    late = SandboxName("bot-late")
    prober, runtime = counted_prober(r, answer_after=1.0)

    async def create_while_listing() -> Result[Health, WardenError]:
        early = asyncio.ensure_future(prober.probe(PRIMARY))
        await r.clock.sleep(0.5)
        add_sandbox(r.world, late.value)
        health = await prober.probe(late)
        await early
        return health

    health = r.run(create_while_listing())

    assert is_successful(health)
    assert runtime.lists == 2


def test_a_cancelled_probe_leaves_the_shared_list_to_the_others() -> None:
    r = rig()
    other = SandboxName("bot-other")
    add_sandbox(r.world, other.value)
    prober, runtime = counted_prober(r, answer_after=1.0)

    async def cancel_one() -> Result[Health, WardenError]:
        doomed = asyncio.ensure_future(prober.probe(PRIMARY))
        kept = asyncio.ensure_future(prober.probe(other))
        await r.clock.sleep(0.5)
        doomed.cancel()
        return await kept

    health = r.run(cancel_one())

    assert is_successful(health)
    assert runtime.lists == 1
