"""
One end-state test per built-in scenario, through the real services.

Each test checks what the warden must have done (heals and their
outcomes, swaps, breaker, alerts, asks answered or failed by kind) and
what the world must look like at the end, not merely that it ran.
"""

from __future__ import annotations

import functools

import pytest

from sandwarden.scenario.catalog import builtin_names, load
from sandwarden.scenario.runner import Outcome, run_scenario
from sandwarden.simulator.clock import EPOCH
from sandwarden.simulator.world import LoginState, World

MINUTE = 60.0


@functools.cache
def outcome_of(name: str) -> Outcome:
    return run_scenario(load(name).unwrap())


def world_of(outcome: Outcome) -> World:
    assert outcome.world is not None
    return outcome.world


def login(outcome: Outcome, sandbox: str) -> LoginState:
    world = world_of(outcome)
    end = EPOCH + outcome.scenario.duration
    return world.sandboxes[sandbox].login.state_at(end)


def asks(outcome: Outcome) -> dict[str, object]:
    found = outcome.summary["asks"]
    assert isinstance(found, dict)
    return found


def messages(outcome: Outcome, topic: str) -> list[str]:
    return [e.message for e in outcome.timeline if e.topic == topic]


def prompt_runs(
    outcome: Outcome,
    sandbox: str,
    start: float = 0.0,
    end: float = float("inf"),
) -> list[float]:
    """When `claude -p` runs started in ``sandbox`` (virtual seconds)."""
    prefix = f"exec {sandbox} run "
    return [
        event.at
        for event in world_of(outcome).events
        if event.what.startswith(prefix)
        and ": claude -p" in event.what
        and start <= event.at < end
    ]


def alert_codes(outcome: Outcome) -> list[str]:
    return [alert.code for alert in outcome.alerts]


def test_every_builtin_scenario_is_named_after_its_file() -> None:
    names = builtin_names()

    loaded = [load(name).unwrap().name for name in names]

    assert loaded == list(names)


def test_every_builtin_scenario_says_what_it_shows() -> None:
    for name in builtin_names():
        scenario = load(name).unwrap()

        assert len(scenario.summary) > 80, name
        assert scenario.duration <= 2 * 3600, name


def test_the_issue_s_failures_each_have_a_builtin_scenario() -> None:
    required = {
        "expired-oauth",
        "missing-sandbox",
        "daemon-down",
        "workspace-mismatch",
        "hang",
        "api-key-fallback",
        "stale-session",
        "heal-flapping",
        "image-store-down",
        "parity-drift",
    }

    assert required <= set(builtin_names())


def test_expired_oauth_heals_from_the_template_and_continues() -> None:
    outcome = outcome_of("expired-oauth")

    assert [h.succeeded for h in outcome.heals] == [True]
    assert outcome.heals[0].sandbox == "sandwarden-heal"
    assert outcome.heals[0].trigger.startswith("auth")
    assert any(
        "from sandwarden-auth:latest: healthy" in step
        for step in outcome.heals[0].steps
    )
    assert outcome.summary["active_sandbox"] == "sandwarden-heal"
    assert asks(outcome) == {"answered": 4, "failed": {}}
    assert outcome.alerts == ()
    assert login(outcome, "sandwarden") is LoginState.EXPIRED
    assert login(outcome, "sandwarden-heal") is LoginState.OAUTH
    why = messages(outcome, "conversation")
    assert len(why) == 1
    assert "lived in sandbox sandwarden" in why[0]
    assert "sandwarden-heal" in why[0]
    assert prompt_runs(outcome, "sandwarden", 20 * MINUTE) == []


def test_missing_sandbox_heals_inside_the_turn_and_answers() -> None:
    outcome = outcome_of("missing-sandbox")

    assert [h.succeeded for h in outcome.heals] == [True]
    assert "not_found" in outcome.heals[0].trigger
    assert asks(outcome) == {"answered": 2, "failed": {}}
    assert set(world_of(outcome).sandboxes) == {"sandwarden-heal"}
    assert outcome.summary["active_sandbox"] == "sandwarden-heal"
    assert len(prompt_runs(outcome, "sandwarden-heal")) == 1


def test_daemon_down_stops_heals_with_the_breaker_then_recovers() -> None:
    outcome = outcome_of("daemon-down")

    assert outcome.heals
    assert not any(h.succeeded for h in outcome.heals)
    assert all("daemon_down" in h.trigger for h in outcome.heals)
    # three failures open the breaker; the one trial after the window
    # fails too, since the daemon is still down then
    assert len(outcome.heals) == 4
    # paged when healing starts to fail and when the breaker opens, not
    # at every failed attempt
    assert alert_codes(outcome) == ["heal_failed", "breaker_open"]
    assert asks(outcome) == {
        "answered": 2,
        "failed": {"sandbox_unavailable": 1},
    }
    assert outcome.summary["active_sandbox"] == "sandwarden"
    assert set(world_of(outcome).sandboxes) == {"sandwarden"}
    assert any(
        "Earlier in this conversation" in m for m in messages(outcome, "ask")
    )


def test_workspace_mismatch_adopts_the_right_path_never_the_wrong() -> None:
    outcome = outcome_of("workspace-mismatch")

    assert [h.succeeded for h in outcome.heals] == [True]
    assert outcome.heals[0].sandbox == "ops-claude"
    assert "workspace_mismatch" in outcome.heals[0].trigger
    passed = [s for s in outcome.heals[0].steps if "passed over" in s]
    assert "legacy (workspace /home/ops/bot)" in passed[0]
    assert asks(outcome) == {"answered": 2, "failed": {}}
    assert prompt_runs(outcome, "sandwarden") == []
    assert prompt_runs(outcome, "legacy") == []
    assert len(prompt_runs(outcome, "ops-claude")) == 2
    assert world_of(outcome).sandboxes["sandwarden"].workspaces == [
        "/srv/bot-old",
    ]


def test_hang_is_stopped_by_the_inactivity_timeout_and_retried_once() -> None:
    outcome = outcome_of("hang")

    failed = [m for m in messages(outcome, "ask") if "turn failed" in m]
    assert len(failed) == 1
    assert "printed nothing" in failed[0]
    assert [h.succeeded for h in outcome.heals] == [True]
    assert outcome.heals[0].trigger.startswith("stalled")
    # the heal started when 10 minutes of silence had passed, not at
    # the hour of the hard timeout
    assert outcome.heals[0].started_at - EPOCH == pytest.approx(
        11 * MINUTE, abs=5
    )
    assert asks(outcome) == {"answered": 2, "failed": {}}
    assert len(prompt_runs(outcome, "sandwarden")) == 1
    assert len(prompt_runs(outcome, "sandwarden-heal")) == 2


def test_api_key_fallback_is_refused_and_never_billed() -> None:
    outcome = outcome_of("api-key-fallback")

    assert prompt_runs(outcome, "sandwarden", 20 * MINUTE, 40 * MINUTE) == []
    assert asks(outcome) == {"answered": 2, "failed": {"billing_guard": 1}}
    assert outcome.heals == ()
    assert alert_codes(outcome) == ["watchdog"]
    assert "billing_guard" in outcome.alerts[0].message
    assert "SANDBOX_ALLOW_API_KEY_AUTH" in outcome.alerts[0].message
    assert login(outcome, "sandwarden") is LoginState.OAUTH
    assert set(world_of(outcome).sandboxes) == {"sandwarden"}


def test_stale_session_starts_a_new_conversation_and_says_why() -> None:
    outcome = outcome_of("stale-session")

    assert [h.sandbox for h in outcome.heals] == [
        "sandwarden-heal",
        "sandwarden-heal",
    ]
    assert all(h.succeeded for h in outcome.heals)
    assert "reuse heal sandbox sandwarden-heal: healthy" in (
        outcome.heals[0].steps
    )
    why = messages(outcome, "conversation")
    assert len(why) == 1
    assert "was not found in sandbox sandwarden-heal" in why[0]
    answered = [m for m in messages(outcome, "ask") if "answered after" in m]
    # the turn after the cut-off run still remembers the first one
    assert "Earlier in this conversation: Remem" in answered[1]
    assert "Earlier" not in answered[2]
    assert asks(outcome) == {"answered": 3, "failed": {"truncated": 1}}
    assert "sandwarden" not in world_of(outcome).sandboxes


def test_heal_flapping_opens_the_breaker_alerts_once_and_tries_again() -> None:
    outcome = outcome_of("heal-flapping")

    assert alert_codes(outcome) == ["breaker_open"]
    opened = [m for m in messages(outcome, "breaker") if "stopped" in m]
    assert len(opened) == 1
    refused = [m for m in messages(outcome, "watch") if "heal refused" in m]
    assert refused
    starts = [h.started_at - EPOCH for h in outcome.heals]
    # three heals before the breaker opened, then one trial after the
    # 15-minute window, which held
    assert len(starts) == 4
    assert starts[3] - starts[2] >= 15 * MINUTE
    # each of the first three broke inside the window: they flapped
    assert [h.flapped for h in outcome.heals] == [True, True, True, False]
    assert outcome.summary["heals"] == {
        "total": 4,
        "succeeded": 1,
        "flapped": 3,
    }
    assert outcome.summary["breaker"] == "closed"
    assert "breaker closed" in messages(outcome, "breaker")
    assert asks(outcome) == {"answered": 1, "failed": {"auth": 1}}
    assert login(outcome, "sandwarden-heal") is LoginState.OAUTH


def test_image_store_down_skips_the_template_adopts_then_asks_login() -> None:
    outcome = outcome_of("image-store-down")

    first, second = outcome.heals
    assert first.succeeded
    assert first.sandbox == "spare"
    assert any(
        "skipped, image store unreachable" in step for step in first.steps
    )
    assert any("passed over other-project" in step for step in first.steps)
    assert not second.succeeded
    assert second.sandbox == "sandwarden-heal"
    assert alert_codes(outcome)[0] == "login_needed"
    assert "sandwarden-heal" in (outcome.alerts[0].action or "")
    assert len(outcome.heals) == 2
    assert asks(outcome) == {"answered": 1, "failed": {"auth": 1}}
    assert login(outcome, "sandwarden-heal") is LoginState.LOGGED_OUT
    assert prompt_runs(outcome, "other-project") == []


def test_parity_drift_heals_onto_the_host_s_commit() -> None:
    outcome = outcome_of("parity-drift")
    world = world_of(outcome)

    assert [h.succeeded for h in outcome.heals] == [True]
    assert outcome.heals[0].trigger.startswith("parity_mismatch")
    healed = world.sandboxes["sandwarden-heal"]
    assert healed.heads["/srv/bot"] == world.host_heads["/srv/bot"]
    assert (
        world.sandboxes["sandwarden"].heads["/srv/bot"]
        != (world.host_heads["/srv/bot"])
    )
    assert asks(outcome) == {"answered": 2, "failed": {}}
    assert prompt_runs(outcome, "sandwarden", 20 * MINUTE) == []


def test_old_cli_is_probed_with_the_plain_status_and_healed_on_time() -> None:
    outcome = outcome_of("old-cli")
    events = [e.what for e in world_of(outcome).events]

    assert any(w.endswith(": claude auth status") for w in events)
    assert [h.succeeded for h in outcome.heals] == [True]
    assert outcome.heals[0].started_at - EPOCH < 31 * MINUTE
    assert asks(outcome) == {"answered": 2, "failed": {}}


def test_plugin_missing_is_not_healed_but_alerted_once() -> None:
    outcome = outcome_of("plugin-missing")

    assert outcome.heals == ()
    assert len(outcome.alerts) == 1
    assert "plugin" in outcome.alerts[0].message
    assert asks(outcome) == {
        "answered": 1,
        "failed": {"sandbox_unavailable": 1},
    }
    assert outcome.summary["breaker"] == "closed"
    assert "sandwarden is healthy again" in messages(outcome, "watch")


def test_usage_limit_keeps_the_conversation_and_heals_nothing() -> None:
    outcome = outcome_of("usage-limit")

    assert outcome.heals == ()
    assert asks(outcome) == {"answered": 2, "failed": {"usage_limit": 1}}
    assert messages(outcome, "conversation") == []
    assert "Earlier in this conversation" in messages(outcome, "ask")[-1]


def test_exit_after_result_is_an_answer_not_a_failure() -> None:
    outcome = outcome_of("exit-after-result")

    assert outcome.heals == ()
    assert asks(outcome) == {"answered": 2, "failed": {}}
    assert "Earlier in this conversation" in messages(outcome, "ask")[-1]


def test_result_then_hang_keeps_the_answer_and_runs_it_once() -> None:
    outcome = outcome_of("result-then-hang")

    assert outcome.heals == ()
    assert asks(outcome) == {"answered": 2, "failed": {}}
    assert "Earlier in this conversation" in messages(outcome, "ask")[-1]
    assert messages(outcome, "conversation") == []


@pytest.mark.parametrize("name", builtin_names())
def test_no_builtin_scenario_runs_a_turn_on_an_api_key(name: str) -> None:
    outcome = outcome_of(name)

    answered_by = [
        e.data.get("sandbox")
        for e in outcome.timeline
        if e.topic == "ask" and e.message.startswith("turn answered by")
    ]

    for sandbox in answered_by:
        assert isinstance(sandbox, str)
        # at the end of the run a sandbox that answered bills the
        # subscription (or lost its login since): never an API key
        if sandbox in world_of(outcome).sandboxes:
            assert login(outcome, sandbox) is not LoginState.API_KEY
