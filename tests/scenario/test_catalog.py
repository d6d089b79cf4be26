from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.values import SandboxName, Workspace
from sandwarden.scenario.catalog import builtin_names, builtin_scenarios, load
from sandwarden.scenario.render import (
    clock_text,
    outcome_json,
    outcome_text,
    scenarios_json,
    scenarios_text,
)
from sandwarden.scenario.runner import run_scenario
from sandwarden.scenario.spec import (
    AskSpec,
    FaultSpec,
    SandboxSpecEntry,
    Scenario,
    WorldSpec,
)
from sandwarden.simulator.faults import Fault
from sandwarden.simulator.world import Behaviour

SMALL = """\
name = "small"
summary = "a login that expires"
duration = "20m"

[world]
workspace = "/srv/app"

[[world.sandboxes]]
name = "sandwarden"
expires_after = "5m"

[[asks]]
at = "8m"
prompt = "hello"
"""


def test_builtin_scenarios_load_by_name_in_sorted_order() -> None:
    scenarios = builtin_scenarios()

    assert tuple(s.name for s in scenarios) == builtin_names()
    assert list(builtin_names()) == sorted(builtin_names())


def test_load_accepts_a_builtin_name_with_the_toml_suffix() -> None:
    loaded = load("hang.toml")

    assert loaded.unwrap().name == "hang"


def test_load_reads_a_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(SMALL)

    loaded = load(str(path))

    assert loaded.unwrap().name == "small"


def test_an_unknown_name_lists_the_builtin_names() -> None:
    loaded = load("no-such-scenario")

    assert not is_successful(loaded)
    error = loaded.failure()
    assert error.kind is ErrorKind.INVALID_INPUT
    assert "no-such-scenario" in error.message
    for name in builtin_names():
        assert name in error.message


def test_a_broken_file_is_named_with_its_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(SMALL.replace('duration = "20m"', 'duration = "soon"'))

    loaded = load(str(path))

    assert not is_successful(loaded)
    assert str(path) in loaded.failure().message
    assert "duration" in loaded.failure().message


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'name = "caf\xe9"\n')

    loaded = load(str(path))

    assert not is_successful(loaded)
    assert "UTF-8" in loaded.failure().message


def test_a_directory_is_refused_with_its_name(tmp_path: Path) -> None:
    loaded = load(str(tmp_path))

    assert not is_successful(loaded)
    assert str(tmp_path) in loaded.failure().message


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "+00:00:00"),
        (59.9, "+00:00:59"),
        (3661, "+01:01:01"),
        (100 * 3600, "+100:00:00"),
    ],
)
def test_clock_text_shows_hours_minutes_seconds(
    seconds: float, shown: str
) -> None:
    assert clock_text(seconds) == shown


def test_the_text_has_a_header_a_timeline_and_a_summary() -> None:
    outcome = run_scenario(load("missing-sandbox").unwrap())

    text = outcome_text(outcome)

    lines = text.splitlines()
    assert lines[0].startswith("scenario missing-sandbox (seed 1")
    assert any(line.startswith("+00:12:04  swap") for line in lines)
    assert "summary" in lines
    assert "  active sandbox: sandwarden-heal" in lines
    assert all(len(line) <= 79 for line in lines[:6])


def test_the_json_holds_every_timeline_entry() -> None:
    outcome = run_scenario(load("missing-sandbox").unwrap())

    document = json.loads(outcome_json(outcome))

    assert document["scenario"]["name"] == "missing-sandbox"
    assert document["seed"] == 1
    assert len(document["timeline"]) == len(outcome.timeline)
    first = document["timeline"][0]
    assert set(first) == {"at", "time", "topic", "message", "data"}
    assert document["summary"]["active_sandbox"] == "sandwarden-heal"


def test_the_list_shows_every_builtin_scenario() -> None:
    scenarios = builtin_scenarios()

    text = scenarios_text(scenarios)
    listed = json.loads(scenarios_json(scenarios))

    for scenario in scenarios:
        assert f"\n{scenario.name} (" in "\n" + text
    assert [item["name"] for item in listed] == list(builtin_names())


_FAULTS = st.sampled_from(
    [
        FaultSpec(0, Fault.LOGIN_EXPIRED, "sandwarden"),
        FaultSpec(0, Fault.SANDBOX_REMOVED, "sandwarden"),
        FaultSpec(0, Fault.DAEMON_DOWN),
        FaultSpec(0, Fault.DAEMON_UP),
        FaultSpec(0, Fault.IMAGE_STORE_DOWN),
        FaultSpec(0, Fault.IMAGE_STORE_UP),
        FaultSpec(0, Fault.API_KEY_LOGIN, "sandwarden-heal"),
        FaultSpec(0, Fault.LOGGED_OUT, "sandwarden-heal"),
        FaultSpec(0, Fault.HOST_HEAD_CHANGED, "/srv/app"),
    ],
)
_TIMES = st.integers(0, 3600).map(float)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    faults = draw(
        st.lists(
            st.builds(
                lambda f, at: FaultSpec(at, f.fault, f.target, f.value),
                _FAULTS,
                _TIMES,
            ),
            max_size=5,
        ),
    )
    asks = draw(
        st.lists(
            st.builds(
                AskSpec,
                at=_TIMES,
                prompt=st.sampled_from(["hi", "status?", "and now?"]),
                conversation=st.sampled_from([None, "a", "b"]),
                behaviour=st.sampled_from(
                    [Behaviour.NORMAL, Behaviour.STALL, Behaviour.TRUNCATED],
                ),
            ),
            max_size=4,
        ),
    )
    workspace = Workspace.parse("/srv/app").unwrap()
    return Scenario(
        name="random",
        summary="",
        duration=3600.0,
        world=WorldSpec(
            workspace=workspace,
            sandboxes=(
                SandboxSpecEntry(SandboxName("sandwarden"), workspace),
            ),
        ),
        faults=tuple(faults),
        asks=tuple(asks),
    )


@settings(max_examples=15, deadline=None)
@given(scenario=scenarios(), seed=st.integers(0, 2**32))
def test_the_same_scenario_and_seed_give_the_same_bytes(
    scenario: Scenario, seed: int
) -> None:
    first = run_scenario(scenario, seed)
    second = run_scenario(scenario, seed)

    assert outcome_text(first) == outcome_text(second)
    assert outcome_json(first) == outcome_json(second)
