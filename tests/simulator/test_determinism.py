import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from sandwarden.domain.deadlines import Limits
from sandwarden.simulator.faults import Fault, ScheduledFault, run_schedule
from sandwarden.simulator.world import Behaviour, Plan
from tests.simulator.helpers import NAME, WORKSPACE, run, simulation


def _target(fault: Fault) -> str:
    return WORKSPACE.path if fault is Fault.HOST_HEAD_CHANGED else NAME.value


# Every kind, so that a new one is rehearsed without touching this list.
_FAULTS = st.sampled_from(Fault).flatmap(
    lambda fault: st.builds(
        ScheduledFault,
        at=st.floats(0, 500),
        fault=st.just(fault),
        target=st.just(_target(fault)),
    ),
)


def _rehearse(
    seed: int, faults: list[ScheduledFault], plans: list[Behaviour]
) -> str:
    world, clock, runtime = simulation(seed)
    world.sandboxes[NAME.value].plans = [Plan(b, pace=3.0) for b in plans]

    async def probe_and_ask() -> None:
        for _ in range(len(plans) + 2):
            await runtime.auth_status(NAME, WORKSPACE, Limits(30))
            await run(runtime, limits=Limits(hard=120, inactivity=40))
            await clock.sleep(60)

    async def main() -> None:
        await asyncio.gather(
            probe_and_ask(),
            run_schedule(world, clock, faults, [runtime.notice_world_change]),
        )

    clock.run(main())

    return world.render_events() + world.to_json()


@given(
    seed=st.integers(0, 2**31),
    faults=st.lists(_FAULTS, max_size=6),
    plans=st.lists(st.sampled_from(list(Behaviour)), max_size=4),
)
@settings(max_examples=25, deadline=None)
def test_one_seed_gives_the_same_event_log_byte_for_byte(
    seed: int, faults: list[ScheduledFault], plans: list[Behaviour]
) -> None:
    first = _rehearse(seed, faults, plans)

    second = _rehearse(seed, faults, plans)

    assert first == second


def test_another_seed_gives_other_session_ids() -> None:
    assert _rehearse(1, [], []) != _rehearse(2, [], [])
