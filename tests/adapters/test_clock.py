from __future__ import annotations

import asyncio
import time

from sandwarden.adapters.clock import SystemClock


def test_monotonic_time_never_goes_back() -> None:
    clock = SystemClock()

    readings = [clock.monotonic() for _ in range(1000)]

    assert readings == sorted(readings)


def test_wall_time_is_the_system_epoch_time() -> None:
    clock = SystemClock()

    before = time.time()
    reading = clock.time()
    after = time.time()

    assert before <= reading <= after


def test_sleep_waits_at_least_the_time_asked() -> None:
    clock = SystemClock()

    async def measure() -> float:
        start = clock.monotonic()
        await clock.sleep(0.05)
        return clock.monotonic() - start

    assert asyncio.run(measure()) >= 0.05


def test_a_negative_sleep_yields_to_other_tasks() -> None:
    clock = SystemClock()
    order: list[str] = []

    async def other() -> None:
        order.append("other")

    async def main() -> None:
        task = asyncio.create_task(other())
        await clock.sleep(-1.0)
        order.append("sleeper")
        await task

    asyncio.run(main())

    assert order == ["other", "sleeper"]
