import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.errors import ErrorKind
from sandwarden.simulator.world import (
    Behaviour,
    Login,
    LoginMethod,
    LoginState,
    Plan,
    Sandbox,
    Session,
    World,
)


def _busy_world() -> World:
    world = World(seed=7)
    sandbox = Sandbox("main", ["/srv/app"])
    sandbox.sessions["s1"] = Session("s1", 3.0, ["hello"])
    sandbox.plans.append(Plan(Behaviour.STALL, pace=2.5))
    sandbox.heads["/srv/app"] = None
    world.sandboxes["main"] = sandbox
    world.files["/backups/a.tar"] = b"\x00\xffbinary"
    world.spawn(sandbox, ["claude", "-p"], "run-1", 4.0)
    world.record(1.5, "fault", "daemon down")

    return world


def test_a_world_survives_a_json_round_trip() -> None:
    world = _busy_world()

    again = World.from_json(world.to_json())

    assert again.unwrap() == world


def test_unreadable_world_text_is_refused_with_the_field_named() -> None:
    text = _busy_world().to_json().replace('"pace": 2.5', '"pace": "x"')

    result = World.from_json(text)

    assert not is_successful(result)
    assert result.failure().kind is ErrorKind.INVALID_INPUT
    assert "pace" in result.failure().message


def test_a_plans_drip_piece_survives_a_json_round_trip() -> None:
    world = World()
    world.default_plan = Plan(Behaviour.SLOW_DRIP, piece=3)

    again = World.from_json(world.to_json()).unwrap()

    assert again.default_plan.piece == 3


def test_a_state_file_from_before_the_drip_piece_still_loads() -> None:
    raw = json.loads(_busy_world().to_json())
    for plan in (raw["default_plan"], *raw["sandboxes"]["main"]["plans"]):
        del plan["piece"]

    again = World.from_json(json.dumps(raw))

    assert again.unwrap() == _busy_world()
    assert again.unwrap().default_plan.piece == 16


def test_a_drip_piece_below_one_byte_is_refused_naming_it() -> None:
    text = World().to_json().replace('"piece": 16', '"piece": 0')

    result = World.from_json(text)

    assert result.failure().kind is ErrorKind.INVALID_INPUT
    assert "Plan.piece is 0" in result.failure().message
    with pytest.raises(ValueError, match="positive"):
        Plan(piece=-1)


def test_an_unknown_field_is_refused_rather_than_dropped() -> None:
    text = World().to_json().replace('"seed"', '"sneed"')

    result = World.from_json(text)

    assert "sneed" in result.failure().message


@given(st.integers(min_value=0, max_value=2**32))
def test_ids_depend_only_on_the_seed_and_their_order(seed: int) -> None:
    first, second = World(seed=seed), World(seed=seed)

    ids = [first.next_id() for _ in range(3)]

    assert ids == [second.next_id() for _ in range(3)]
    assert len(set(ids)) == 3


def test_an_expired_oauth_login_falls_back_to_the_api_key_if_present() -> None:
    login = Login(expires_at=100.0, api_key_fallback=True)

    assert login.state_at(99.0) is LoginState.OAUTH
    assert login.state_at(100.0) is LoginState.API_KEY


def test_an_expired_oauth_login_without_a_key_is_expired() -> None:
    login = Login(expires_at=100.0)

    assert login.state_at(100.0) is LoginState.EXPIRED
    assert Login(LoginMethod.NONE).state_at(0.0) is LoginState.LOGGED_OUT


def test_a_sandbox_mounts_its_workspace_and_paths_below_it_only() -> None:
    sandbox = Sandbox("main", ["/srv/app", "/srv/docs:ro"])

    assert sandbox.mounts("/srv/app")
    assert sandbox.mounts("/srv/app/src")
    assert sandbox.mounts("/srv/docs")
    assert not sandbox.mounts("/srv/application")
    assert not sandbox.mounts("/work")
