from __future__ import annotations

import logging

import pytest

from sandwarden.service.journal import Journal, Note, Topic


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
