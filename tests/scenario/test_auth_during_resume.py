"""
The end state of the ``auth-during-resume`` built-in scenario.

Section 17, gotcha 5: an auth failure during a resume looks like a
resume error, but the fix is a login, not a new conversation.
"""

from __future__ import annotations

from sandwarden.simulator.world import LoginState
from tests.scenario.test_builtin import (
    MINUTE,
    asks,
    login,
    messages,
    outcome_of,
    prompt_runs,
    world_of,
)


def test_an_auth_failure_while_resuming_heals_instead_of_restarting() -> None:
    outcome = outcome_of("auth-during-resume")

    assert asks(outcome) == {"answered": 3, "failed": {}}
    assert [h.succeeded for h in outcome.heals] == [True]
    assert outcome.heals[0].trigger.startswith("auth")
    assert outcome.summary["active_sandbox"] == "sandwarden-heal"
    # The failed resume was the last run in the broken sandbox: no fresh
    # conversation was started there as if the session had been lost.
    assert len(prompt_runs(outcome, "sandwarden", start=8 * MINUTE)) == 1
    assert len(prompt_runs(outcome, "sandwarden-heal")) == 2
    assert login(outcome, "sandwarden") is LoginState.EXPIRED


def test_the_new_conversation_names_the_swap_not_a_lost_session() -> None:
    outcome = outcome_of("auth-during-resume")

    why = messages(outcome, "conversation")

    assert len(why) == 1
    assert "lived in sandbox sandwarden" in why[0]
    assert "not found" not in why[0]
    resumed = [
        event.what
        for event in world_of(outcome).events
        if "--resume=" in event.what and "claude -p" in event.what
    ]
    assert len(resumed) == 2
