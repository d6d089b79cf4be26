"""Templates: save with tag rotation, rollback, state, image store down."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from returns.pipeline import is_successful

from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.sandbox import SandboxSpec
from sandwarden.domain.values import ImageTag, SandboxName, Workspace
from sandwarden.service.config import WardenConfig
from sandwarden.service.deps import Deps
from sandwarden.service.journal import Journal
from sandwarden.service.probe import Prober
from sandwarden.service.templates import CopyMethod, Templates
from sandwarden.simulator import (
    InMemoryStateStore,
    RecordingAlerts,
    SimulatedHost,
    SimulatedRuntime,
    VirtualClock,
    World,
)
from sandwarden.simulator.world import Login, LoginMethod, Tool

NAME = SandboxName("main")
WORKSPACE = Workspace("/srv/app")
LATEST = ImageTag("sandwarden-auth", "latest")
PREV = ImageTag("sandwarden-auth", "prev")


@dataclass
class Rig:
    """A simulated world with one logged-in sandbox, and the service."""

    world: World
    clock: VirtualClock
    runtime: SimulatedRuntime
    deps: Deps
    templates: Templates


def rig(tool: Tool = Tool.DOCKER_SANDBOX) -> Rig:
    world = World(seed=3, tool=tool)
    clock = VirtualClock()
    runtime = SimulatedRuntime(world, clock)
    config = WardenConfig(NAME, WORKSPACE, template=LATEST)
    deps = Deps(
        runtime=runtime,
        clock=clock,
        store=InMemoryStateStore(clock),
        host=SimulatedHost(world),
        alerts=RecordingAlerts(world, clock),
        journal=Journal(),
        config=config,
    )
    clock.run(_create(runtime, NAME))

    return Rig(world, clock, runtime, deps, Templates(deps, Prober(deps)))


async def _create(runtime: SimulatedRuntime, name: SandboxName) -> None:
    (await runtime.create(SandboxSpec(name, WORKSPACE))).unwrap()
    runtime.world.sandboxes[name.value].login = Login()


def image_of(world: World, tag: ImageTag) -> str | None:
    return world.tags.get(str(tag))


def test_a_first_save_creates_latest_and_keeps_no_previous() -> None:
    r = rig()

    saved = r.clock.run(r.templates.save()).unwrap()

    assert saved.template == LATEST
    assert saved.previous is None
    assert image_of(r.world, LATEST) is not None
    assert image_of(r.world, PREV) is None


def test_a_second_save_moves_latest_to_prev_before_saving() -> None:
    r = rig()
    r.clock.run(r.templates.save()).unwrap()
    first = image_of(r.world, LATEST)

    saved = r.clock.run(r.templates.save()).unwrap()

    assert saved.previous == PREV
    assert saved.copied_by is CopyMethod.TAG
    assert image_of(r.world, PREV) == first
    assert image_of(r.world, LATEST) not in (None, first)
    events = [e.what for e in r.world.events]
    tag_at = events.index(f"tag {LATEST} as {PREV}: ok")
    save_at = max(i for i, e in enumerate(events) if e.startswith("save "))
    assert tag_at < save_at


def test_a_logged_out_sandbox_is_not_saved() -> None:
    r = rig()
    r.world.sandboxes[NAME.value].login = Login(LoginMethod.NONE)

    saved = r.clock.run(r.templates.save())

    assert not is_successful(saved)
    assert saved.failure().kind is ErrorKind.AUTH
    assert "not saving sandbox 'main'" in saved.failure().message
    assert r.world.tags == {}


def test_an_image_store_that_is_down_refuses_with_the_fallback() -> None:
    r = rig()
    r.world.image_store_up = False

    saved = r.clock.run(r.templates.save())

    error = saved.failure()
    assert error.kind is ErrorKind.DESKTOP_REQUIRED
    assert "start Docker Desktop" in error.message
    assert "create a fresh one" in error.message
    assert r.world.tags == {}


def test_rollback_points_latest_at_prev() -> None:
    r = rig()
    r.clock.run(r.templates.save()).unwrap()
    good = image_of(r.world, LATEST)
    r.clock.run(r.templates.save()).unwrap()

    rolled = r.clock.run(r.templates.rollback()).unwrap()

    assert rolled.template == LATEST
    assert rolled.source == PREV
    assert image_of(r.world, LATEST) == good


def test_rollback_without_prev_refuses_and_changes_nothing() -> None:
    r = rig()
    r.clock.run(r.templates.save()).unwrap()
    before = dict(r.world.tags)

    rolled = r.clock.run(r.templates.rollback())

    assert rolled.failure().kind is ErrorKind.NOT_FOUND
    assert "no previous template sandwarden-auth:prev" in (
        rolled.failure().message
    )
    assert r.world.tags == before


def test_state_says_which_tags_exist() -> None:
    r = rig()
    empty = r.clock.run(r.templates.state()).unwrap()
    r.clock.run(r.templates.save()).unwrap()
    r.clock.run(r.templates.save()).unwrap()

    both = r.clock.run(r.templates.state()).unwrap()

    assert (empty.latest_present, empty.prev_present) == (False, False)
    assert (both.latest_present, both.prev_present) == (True, True)
    assert both.prev == PREV


def test_on_sbx_prev_is_kept_by_resaving_through_a_scratch_sandbox() -> None:
    r = rig(Tool.SBX)
    r.clock.run(r.templates.save()).unwrap()
    first = r.world.images[image_of(r.world, LATEST) or ""]

    saved = r.clock.run(r.templates.save()).unwrap()

    assert saved.copied_by is CopyMethod.RESAVE
    prev = r.world.images[image_of(r.world, PREV) or ""]
    assert prev.id != first.id
    assert prev.login == first.login
    assert set(r.world.sandboxes) == {NAME.value}


def test_no_configured_template_is_a_clear_error() -> None:
    r = rig()
    deps = replace(r.deps, config=replace(r.deps.config, template=None))

    saved = r.clock.run(Templates(deps, Prober(deps)).save())

    assert saved.failure().kind is ErrorKind.INVALID_INPUT
    assert "SANDBOX_SELF_HEAL_TEMPLATE" in saved.failure().message


def test_saving_uses_the_active_sandbox_after_a_heal() -> None:
    r = rig()
    healed = SandboxName("main-heal")
    r.clock.run(_create(r.runtime, healed))
    r.clock.run(r.deps.store.set_active_sandbox(healed)).unwrap()

    saved = r.clock.run(r.templates.save()).unwrap()

    assert saved.sandbox == healed
    image = r.world.images[image_of(r.world, LATEST) or ""]
    assert image.source == healed.value


def test_on_sbx_a_save_says_it_stopped_the_sandbox() -> None:
    r = rig(Tool.SBX)

    saved = r.clock.run(r.templates.save()).unwrap()

    stop = (
        "stopped sandbox main (sbx saves only a stopped sandbox; the next "
        "turn starts it again)"
    )
    assert saved.steps[-2:] == (stop, f"saved main as {LATEST}")
    assert stop in [note.message for note in r.deps.journal.notes]


def test_under_the_plugin_a_save_stops_nothing() -> None:
    r = rig()

    saved = r.clock.run(r.templates.save()).unwrap()

    assert not any("stopped" in step for step in saved.steps)


def test_a_save_waits_for_a_heal_holding_the_lock() -> None:
    r = rig()
    store = r.deps.store

    async def during_a_heal() -> tuple[float, bool]:
        assert (await store.acquire_heal_lock("healer", 900.0)).unwrap()

        async def heal_ends() -> None:
            await r.clock.sleep(42.0)
            await store.release_heal_lock("healer")

        ending = asyncio.create_task(heal_ends())
        saved = await r.templates.save()
        await ending
        free = (await store.acquire_heal_lock("after", 1.0)).unwrap()
        return (
            saved.map(lambda _: r.clock.monotonic()).unwrap(),
            free,
        )

    saved_at, released = r.clock.run(during_a_heal())

    assert saved_at >= 42.0
    assert released
    waiting = "another process holds the heal lock; the template save waits"
    assert waiting in [note.message for note in r.deps.journal.notes]
