import asyncio

import pytest
from returns.pipeline import is_successful

from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.values import ImageTag
from sandwarden.simulator.faults import Fault, ScheduledFault, run_schedule
from sandwarden.simulator.host import SimulatedHost
from sandwarden.simulator.runtime import SimulatedRuntime
from sandwarden.simulator.world import Behaviour, Plan, World
from tests.simulator.helpers import NAME, WORKSPACE, run, simulation


async def _observe(
    world: World, runtime: SimulatedRuntime, fault: Fault
) -> object:
    """What the ports show after ``fault``, the way the warden would look."""
    match fault:
        case Fault.LOGIN_EXPIRED | Fault.LOGGED_OUT:
            _, stdout, _ = await run(runtime)
            return b"authentication_failed" in stdout
        case Fault.API_KEY_LOGIN:
            status = await runtime.auth_status(NAME, WORKSPACE, Limits(30))
            return status.unwrap().auth_method
        case Fault.IMAGE_STORE_DOWN:
            saved = await runtime.save(NAME, ImageTag("t"))
            return saved.failure().kind
        case Fault.DAEMON_WEDGED:
            return (await runtime.list()).failure().reason
        case Fault.HOST_HEAD_CHANGED:
            host = await SimulatedHost(world).git_head(WORKSPACE)
            inside = await runtime.git_head(NAME, WORKSPACE)
            return host.unwrap() != inside.unwrap()
        case Fault.SANDBOX_STOPPED:
            listed = (await runtime.list()).unwrap()
            return str(listed[0].status)
        case Fault.WORKSPACE_MOVED:
            listed = (await runtime.list()).unwrap()
            return listed[0].workspaces
        case _:
            status = await runtime.auth_status(NAME, WORKSPACE, Limits(30))
            error = status.failure()
            assert isinstance(error, WardenError)
            return (error.kind, error.reason)


EXPECTED: dict[Fault, object] = {
    Fault.LOGIN_EXPIRED: True,
    Fault.LOGGED_OUT: True,
    Fault.API_KEY_LOGIN: "api_key",
    Fault.IMAGE_STORE_DOWN: ErrorKind.DESKTOP_REQUIRED,
    Fault.DAEMON_WEDGED: UnavailableReason.WEDGED,
    Fault.HOST_HEAD_CHANGED: True,
    Fault.WORKSPACE_MOVED: ("/work/app-moved",),
    Fault.SANDBOX_STOPPED: "stopped",
    Fault.DAEMON_DOWN: (
        ErrorKind.SANDBOX_UNAVAILABLE,
        UnavailableReason.DAEMON_DOWN,
    ),
    Fault.PLUGIN_REMOVED: (
        ErrorKind.SANDBOX_UNAVAILABLE,
        UnavailableReason.PLUGIN_MISSING,
    ),
    Fault.SANDBOX_REMOVED: (
        ErrorKind.SANDBOX_UNAVAILABLE,
        UnavailableReason.NOT_FOUND,
    ),
}


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_every_fault_shows_through_the_ports_as_the_named_error(
    fault: Fault,
) -> None:
    world, clock, runtime = simulation()
    target = WORKSPACE.path if fault is Fault.HOST_HEAD_CHANGED else "main"
    schedule = [ScheduledFault(10.0, fault, target)]

    async def main() -> object:
        failures = await run_schedule(world, clock, schedule)
        assert failures == []
        return await _observe(world, runtime, fault)

    assert clock.run(main()) == EXPECTED[fault]


@pytest.mark.parametrize(
    ("down", "up"),
    [
        (Fault.DAEMON_DOWN, Fault.DAEMON_UP),
        (Fault.PLUGIN_REMOVED, Fault.PLUGIN_RESTORED),
        (Fault.IMAGE_STORE_DOWN, Fault.IMAGE_STORE_UP),
        (Fault.LOGIN_EXPIRED, Fault.LOGIN_RENEWED),
    ],
)
def test_restoring_faults_undo_their_partner(down: Fault, up: Fault) -> None:
    world, clock, runtime = simulation()
    schedule = [ScheduledFault(5, down, "main"), ScheduledFault(9, up, "main")]

    async def main() -> tuple[bool, bool]:
        await run_schedule(world, clock, schedule)
        saved = await runtime.save(NAME, ImageTag("t"))
        status = await runtime.auth_status(NAME, WORKSPACE, Limits(30))
        return is_successful(saved), status.unwrap().logged_in

    assert clock.run(main()) == (True, True)


def test_a_fault_during_a_run_reaches_the_running_command() -> None:
    world, clock, runtime = simulation()
    world.sandboxes["main"].plans.append(Plan(Behaviour.HANG))
    schedule = [ScheduledFault(20, Fault.SANDBOX_REMOVED, "main")]

    async def main() -> int | None:
        ran, _ = await asyncio.gather(
            run(runtime, limits=Limits(hard=None)),
            run_schedule(
                world, clock, schedule, [runtime.notice_world_change]
            ),
        )
        return ran[0].exit_code

    assert clock.run(main()) == 137


def test_a_fault_naming_a_missing_sandbox_is_refused_and_logged() -> None:
    world, clock, _ = simulation()
    schedule = [ScheduledFault(1, Fault.LOGGED_OUT, "ghost")]

    failures = clock.run(run_schedule(world, clock, schedule))

    assert "ghost" in failures[0].message
    assert world.events[-1].what == "logged_out refused"


def test_every_fault_kind_is_covered_by_these_tests() -> None:
    covered = set(EXPECTED) | {
        Fault.DAEMON_UP,
        Fault.PLUGIN_RESTORED,
        Fault.IMAGE_STORE_UP,
        Fault.LOGIN_RENEWED,
    }

    assert covered == set(Fault)
