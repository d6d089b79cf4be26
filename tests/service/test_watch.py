from __future__ import annotations

import asyncio

import pytest

from sandwarden.domain.watchdog import Action
from sandwarden.simulator.world import Login, LoginMethod
from tests.service.simrig import HEAL, PRIMARY, rig


def test_a_healthy_sandbox_is_left_alone() -> None:
    r = rig()

    report = r.run(r.services.watchdog.check())

    assert report.decision.action is Action.NOTHING
    assert r.run(r.store.heal_history(10)).unwrap() == ()


def test_an_expired_login_is_healed_and_swapped() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.NONE)

    report = r.run(r.services.watchdog.check())

    assert report.decision.action is Action.HEAL
    assert r.run(r.store.active_sandbox()).unwrap() == HEAL


def test_the_loop_survives_an_exception_in_a_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = rig(watchdog_interval=60.0)
    prober = r.services.prober
    real = prober.probe
    calls = 0

    async def flaky(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(prober, "probe", flaky)

    done = r.run(r.services.watchdog.run(checks=3))

    assert done == 3
    assert calls == 3


def test_the_loop_stops_when_the_event_is_set() -> None:
    r = rig(watchdog_interval=300.0)

    async def scenario() -> tuple[int, float]:
        stop = asyncio.Event()
        task = asyncio.create_task(r.services.watchdog.run(stop=stop))
        await r.clock.sleep(1000)
        stop.set()
        done = await task
        return done, r.clock.monotonic()

    done, now = r.run(scenario())

    # checks at about 0, 300, 600 and 900 s; the stop ends the wait at
    # once instead of sleeping until the next check
    assert done == 4
    assert now == pytest.approx(1000, abs=1)


def test_a_heal_that_raises_backs_off_and_the_loop_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = rig(watchdog_interval=60.0)
    r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.NONE)
    heals = 0

    async def broken_heal(*args: object, **kwargs: object) -> object:
        nonlocal heals
        heals += 1
        raise RuntimeError("heal bug")

    monkeypatch.setattr(r.services.healer, "heal", broken_heal)

    async def checks() -> tuple[Action, float, int]:
        watchdog = r.services.watchdog
        first = await watchdog.check()
        wait = first.decision.next_at - r.clock.time()
        done = await watchdog.run(checks=2)
        return first.decision.action, wait, done

    action, wait, done = r.run(checks())

    # a crashed check is answered with the not-run back-off (30 s), not
    # the 60 s interval, and every later check tries the heal again
    assert action is Action.BACK_OFF
    assert wait == pytest.approx(30.0)
    assert done == 2
    assert heals == 3


def test_a_store_that_raises_while_deciding_backs_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = rig(watchdog_interval=60.0)

    async def broken_breaker() -> object:
        raise OSError("disk gone")

    monkeypatch.setattr(r.store, "breaker", broken_breaker)

    report = r.run(r.services.watchdog.check())

    assert report.decision.action is Action.BACK_OFF
    assert report.report.error is not None
    assert "disk gone" in report.report.error.message


def test_checks_that_keep_crashing_page_the_operator_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    r = rig(watchdog_interval=60.0)

    async def broken_breaker() -> object:
        raise OSError("disk gone")

    monkeypatch.setattr(r.store, "breaker", broken_breaker)

    done = r.run(r.services.watchdog.run(checks=5))

    assert done == 5
    codes = [a.code for a in r.alerts.alerts]
    assert codes == ["watchdog"]


def test_a_watchdog_disabled_in_the_settings_checks_nothing() -> None:
    r = rig(watchdog_enabled=False)
    r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.NONE)
    execs_before = len(r.world.events)

    done = r.run(r.services.watchdog.run(checks=3))

    assert done == 0
    assert len(r.world.events) == execs_before
    assert r.run(r.store.heal_history(10)).unwrap() == ()
    assert r.run(r.store.active_sandbox()).unwrap() != HEAL
