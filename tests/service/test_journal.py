from __future__ import annotations

import logging

import pytest

from sandwarden.domain.errors import UnavailableReason, WardenError
from sandwarden.service.journal import Journal, Note, Topic
from tests.service.simrig import PRIMARY, rig

GONE = WardenError.unavailable(UnavailableReason.NOT_FOUND, "gone")


def broken_observer(note: Note) -> None:
    raise ValueError(f"cannot take {note.topic}")


def test_a_raising_subscriber_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard: list[str] = []
    journal = Journal(
        subscribers=[broken_observer, lambda n: heard.append(n.message)]
    )

    with caplog.at_level(logging.WARNING, logger="sandwarden"):
        note = journal.write(1.0, Topic.HEAL, "healing bot")

    assert heard == ["healing bot"]
    assert journal.notes == [note]
    failures = [
        r for r in caplog.records if "broken_observer" in r.getMessage()
    ]
    assert len(failures) == 1
    assert failures[0].levelno == logging.WARNING
    assert failures[0].exc_info is not None


def test_a_heal_logs_one_info_line_and_its_steps_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    r = rig()
    del r.world.sandboxes[PRIMARY.value]

    with caplog.at_level(logging.DEBUG, logger="sandwarden"):
        report = r.run(r.services.healer.heal(GONE)).unwrap()

    notes = [rec for rec in caplog.records if rec.name == "sandwarden"]
    heal_info = [
        rec.getMessage()
        for rec in notes
        if rec.levelno >= logging.INFO and rec.getMessage().startswith("heal")
    ]
    assert heal_info == [f"heal: {report.summary}"]
    steps = [rec for rec in notes if rec.getMessage().startswith("heal_step")]
    assert len(steps) >= len(report.steps)
    assert all(rec.levelno == logging.DEBUG for rec in steps)


def test_an_alert_note_stays_below_the_alerts_own_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal = Journal()

    with caplog.at_level(logging.DEBUG, logger="sandwarden"):
        journal.write(1.0, Topic.ALERT, "error: log in to bot")

    assert [rec.levelno for rec in caplog.records] == [logging.DEBUG]
