import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandwarden.simulator.clock import (
    EPOCH,
    VirtualClock,
    VirtualDeadlockError,
)


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=30))
def test_any_set_of_sleepers_wakes_in_order_of_virtual_time(
    delays: list[float],
) -> None:
    clock = VirtualClock()
    woke: list[tuple[float, int]] = []

    async def sleeper(index: int, delay: float) -> None:
        await clock.sleep(delay)
        woke.append((clock.monotonic(), index))

    async def main() -> None:
        await asyncio.gather(*(sleeper(i, d) for i, d in enumerate(delays)))

    clock.run(main())

    assert [index for _, index in woke] == sorted(
        range(len(delays)), key=lambda i: (delays[i], i)
    )
    for at, index in woke:
        assert at == pytest.approx(delays[index], abs=1e-6)


@given(st.lists(st.lists(st.floats(0, 100), max_size=5), max_size=6))
def test_chains_of_sleeps_end_at_the_sum_of_their_delays(
    chains: list[list[float]],
) -> None:
    clock = VirtualClock()
    ends: list[float] = []

    async def chain(delays: list[float]) -> None:
        for delay in delays:
            await clock.sleep(delay)
        ends.append(clock.monotonic())

    async def main() -> None:
        await asyncio.gather(*(chain(c) for c in chains))

    clock.run(main())

    # asyncio fires a timer due within its clock resolution (1 ns) at
    # once, so a chain of sub-nanosecond sleeps may end at 0.
    assert sorted(ends) == pytest.approx(
        sorted(sum(c) for c in chains), abs=1e-6
    )


def test_a_day_passes_without_waiting_and_wall_time_follows() -> None:
    clock = VirtualClock()

    clock.run(clock.sleep(86_400))

    assert clock.monotonic() == 86_400
    assert clock.time() == EPOCH + 86_400


def test_asyncio_timeouts_fire_on_virtual_time() -> None:
    clock = VirtualClock()

    async def main() -> float:
        try:
            async with asyncio.timeout(30):
                await asyncio.sleep(3_600)
        except TimeoutError:
            return clock.monotonic()
        return -1.0

    assert clock.run(main()) == 30


def test_waiting_for_something_that_can_never_happen_is_a_deadlock() -> None:
    clock = VirtualClock()

    async def main() -> None:
        await asyncio.Event().wait()

    with pytest.raises(VirtualDeadlockError, match="no wake-up"):
        clock.run(main())


def test_a_horizon_stops_a_simulation_that_would_run_for_ever() -> None:
    clock = VirtualClock(horizon=100.0)

    async def forever() -> None:
        while True:
            await clock.sleep(10)

    with pytest.raises(VirtualDeadlockError, match="horizon"):
        clock.run(forever())
