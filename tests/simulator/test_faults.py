"""
Every fault, seen through the ports and the probe as the error it names.

The specification names one error per fault (``ErrorKind`` and, for an
unavailable sandbox, ``UnavailableReason``). The ports show it directly
where they can (the tool's own failures), or through the domain's
reading of what they return (a prompt's reply, the auth status under the
billing guard, the two HEADs); the probe shows it as one ``WardenError``.
"""

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.pipeline import is_successful
from returns.result import Result

from sandwarden.domain.auth import check_billing
from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.parity import as_error, compare_heads
from sandwarden.domain.reply import decode
from sandwarden.domain.sandbox import SandboxStatus
from sandwarden.domain.values import ImageTag
from sandwarden.simulator.faults import Fault, ScheduledFault, run_schedule
from sandwarden.simulator.host import SimulatedHost
from sandwarden.simulator.world import Behaviour, Plan
from tests.service.simrig import (
    PRIMARY,
    TEMPLATE,
    WORKSPACE,
    Rig,
    rig,
)
from tests.simulator.helpers import RUN, run, simulation

Named = tuple[ErrorKind, UnavailableReason | None]

PROBE_LIMITS = Limits(30)

# The tool's own failures: the ports and the probe name them alike.
UNAVAILABLE: dict[Fault, Named] = {
    Fault.DAEMON_DOWN: (
        ErrorKind.SANDBOX_UNAVAILABLE,
        UnavailableReason.DAEMON_DOWN,
    ),
    Fault.DAEMON_WEDGED: (
        ErrorKind.SANDBOX_UNAVAILABLE,
        UnavailableReason.WEDGED,
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

# What a probe (parity checked) answers after each fault; None: healthy.
PROBED: dict[Fault, Named | None] = {
    Fault.LOGIN_EXPIRED: (ErrorKind.AUTH, None),
    Fault.LOGGED_OUT: (ErrorKind.AUTH, None),
    Fault.API_KEY_LOGIN: (ErrorKind.BILLING_GUARD, None),
    Fault.WORKSPACE_MOVED: (ErrorKind.WORKSPACE_MISMATCH, None),
    Fault.HOST_HEAD_CHANGED: (ErrorKind.PARITY_MISMATCH, None),
    **UNAVAILABLE,
    # Sandboxes work without Docker Desktop's image store.
    Fault.IMAGE_STORE_DOWN: None,
    # The probe's exec boots a stopped sandbox, as the tools' exec does.
    Fault.SANDBOX_STOPPED: None,
}

# What the ports show after each fault (see ``_through_ports``); None:
# the port answers and the domain finds nothing wrong.
PORTS: dict[Fault, Named | None] = {
    Fault.LOGIN_EXPIRED: (ErrorKind.AUTH, None),
    Fault.LOGGED_OUT: (ErrorKind.AUTH, None),
    Fault.API_KEY_LOGIN: (ErrorKind.BILLING_GUARD, None),
    # Exec in a directory the sandbox does not mount fails with nothing
    # said: the specification's "sneakiest failure". The probe, which
    # compares the listed workspace first, names it better.
    Fault.WORKSPACE_MOVED: (
        ErrorKind.SANDBOX_UNAVAILABLE,
        UnavailableReason.PROBE_FAILED,
    ),
    Fault.HOST_HEAD_CHANGED: (ErrorKind.PARITY_MISMATCH, None),
    **UNAVAILABLE,
    Fault.IMAGE_STORE_DOWN: (ErrorKind.DESKTOP_REQUIRED, None),
    # The exec behind the auth status boots a stopped sandbox.
    Fault.SANDBOX_STOPPED: None,
}

# Each restoring fault and the fault it undoes: after both, the port
# where the undone fault showed answers as if neither had struck.
RESTORES: dict[Fault, Fault] = {
    Fault.DAEMON_UP: Fault.DAEMON_DOWN,
    Fault.PLUGIN_RESTORED: Fault.PLUGIN_REMOVED,
    Fault.IMAGE_STORE_UP: Fault.IMAGE_STORE_DOWN,
    Fault.LOGIN_RENEWED: Fault.LOGIN_EXPIRED,
}


def named(error: WardenError) -> Named:
    return error.kind, error.reason


def named_failure(result: Result[Any, WardenError]) -> Named | None:
    """The error of a port's answer; None when it succeeded."""
    if is_successful(result):
        return None

    return named(result.failure())


def scheduled(fault: Fault, at: float) -> ScheduledFault:
    """``fault`` at ``at``, aimed where it applies in the services' rig."""
    target = WORKSPACE.path if fault is Fault.HOST_HEAD_CHANGED else "bot"
    return ScheduledFault(at, fault, target)


def faulted(*schedule: ScheduledFault) -> Rig:
    """The services' rig, parity checked, after ``schedule`` played."""
    r = rig(check_parity=True)

    failures = r.run(run_schedule(r.world, r.clock, schedule))

    assert failures == []
    return r


async def _through_ports(r: Rig, fault: Fault) -> Named | None:
    """
    The error the ports show for ``fault``, read as the warden reads it.

    Each case asks the port where the fault shows first; a port that
    answers successfully is read by the domain function that would turn
    its answer into the error.
    """
    runtime = r.runtime
    match fault:
        case Fault.LOGIN_EXPIRED | Fault.LOGGED_OUT:
            started = await runtime.exec(
                PRIMARY,
                RUN,
                workdir=WORKSPACE,
                limits=PROBE_LIMITS,
                stdin=b"hello",
            )
            execution = started.unwrap()
            stdout = bytearray()
            async for chunk in execution.output():
                stdout += chunk.data
            await execution.wait()
            kind = decode(bytes(stdout)).error_kind
            return None if kind is None else (kind, None)
        case Fault.API_KEY_LOGIN:
            status = await runtime.auth_status(
                PRIMARY, WORKSPACE, PROBE_LIMITS
            )
            return named_failure(check_billing(status.unwrap(), False))
        case Fault.HOST_HEAD_CHANGED:
            host = await SimulatedHost(r.world).git_head(WORKSPACE)
            inside = await runtime.git_head(PRIMARY, WORKSPACE)
            error = as_error(compare_heads(host.unwrap(), inside.unwrap()))
            return None if error is None else named(error)
        case Fault.IMAGE_STORE_DOWN:
            saved = await runtime.save(PRIMARY, ImageTag("t"))
            exists = await runtime.image_exists(TEMPLATE)
            tagged = await runtime.image_tag(TEMPLATE, ImageTag("t"))
            kinds = {
                named_failure(saved),
                named_failure(exists),
                named_failure(tagged),
            }
            assert len(kinds) == 1
            return kinds.pop()
        case Fault.DAEMON_WEDGED:
            return named_failure(await runtime.list())
        case _:
            status = await runtime.auth_status(
                PRIMARY, WORKSPACE, PROBE_LIMITS
            )
            return named_failure(status)


@pytest.mark.parametrize("fault", sorted(PORTS))
def test_every_fault_shows_through_the_ports_as_the_named_error(
    fault: Fault,
) -> None:
    r = faulted(scheduled(fault, 10.0))

    shown = r.run(_through_ports(r, fault))

    assert shown == PORTS[fault]


@given(
    fault=st.sampled_from(Fault),
    at=st.floats(0.0, 86_400.0),
    gap=st.floats(0.0, 3_600.0),
)
@settings(max_examples=60, deadline=None)
def test_any_fault_at_any_time_shows_through_the_ports_as_named(
    fault: Fault, at: float, gap: float
) -> None:
    undone = RESTORES.get(fault)
    if undone is None:
        schedule, asked, expected = [scheduled(fault, at)], fault, PORTS[fault]
    else:
        schedule = [scheduled(undone, at), scheduled(fault, at + gap)]
        asked, expected = undone, None
    r = faulted(*schedule)

    shown = r.run(_through_ports(r, asked))

    assert shown == expected


@pytest.mark.parametrize("fault", sorted(PROBED))
def test_every_fault_reaches_the_probe_as_the_named_error(
    fault: Fault,
) -> None:
    r = faulted(scheduled(fault, 10.0))

    health = r.run(r.services.prober.probe(PRIMARY))

    expected = PROBED[fault]
    if expected is None:
        assert is_successful(health), health
    else:
        assert named(health.failure()) == expected


@pytest.mark.parametrize("fault", [Fault.LOGIN_EXPIRED, Fault.LOGGED_OUT])
def test_a_lost_login_shows_in_the_auth_status(fault: Fault) -> None:
    r = faulted(scheduled(fault, 10.0))

    status = r.run(r.runtime.auth_status(PRIMARY, WORKSPACE, PROBE_LIMITS))

    assert status.unwrap().logged_in is False


def test_a_stopped_sandbox_is_listed_stopped_until_a_probe_boots_it() -> None:
    r = faulted(scheduled(Fault.SANDBOX_STOPPED, 10.0))

    async def list_probe_list() -> tuple[str, bool, str]:
        before = (await r.runtime.list()).unwrap()[0].status
        health = await r.services.prober.probe(PRIMARY)
        after = (await r.runtime.list()).unwrap()[0].status
        return str(before), is_successful(health), str(after)

    assert r.run(list_probe_list()) == (
        SandboxStatus.STOPPED.value,
        True,
        SandboxStatus.RUNNING.value,
    )


@pytest.mark.parametrize(
    ("down", "up"),
    sorted((down, up) for up, down in RESTORES.items()),
)
def test_restoring_faults_undo_their_partner(down: Fault, up: Fault) -> None:
    r = rig()
    schedule = [ScheduledFault(5, down, "bot"), ScheduledFault(9, up, "bot")]

    async def main() -> tuple[bool, bool]:
        await run_schedule(r.world, r.clock, schedule)
        saved = await r.runtime.save(PRIMARY, ImageTag("t"))
        health = await r.services.prober.probe(PRIMARY)
        return is_successful(saved), is_successful(health)

    assert r.run(main()) == (True, True)


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


def test_every_fault_kind_has_an_expectation_at_the_ports_and_probe() -> None:
    striking = set(Fault) - set(RESTORES)

    assert set(PORTS) == striking
    assert set(PROBED) == striking
    assert set(RESTORES.values()) <= striking
