"""
The journal: what the warden observed and decided, as it happens.

Services write one note per probe, turn, heal (``heal``: its summary),
heal step (``heal_step``), breaker change, swap and alert. The scenario
runner prints them as a timeline; an embedding program may subscribe;
every note is also logged, at a level set by its topic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum, unique

__all__ = ["Journal", "Note", "Topic"]

_log = logging.getLogger("sandwarden")

Value = str | int | float | bool | None


@unique
class Topic(StrEnum):
    """What a note is about."""

    PROBE = "probe"
    ASK = "ask"
    CONVERSATION = "conversation"
    HEAL = "heal"
    HEAL_STEP = "heal_step"
    BREAKER = "breaker"
    SWAP = "swap"
    ALERT = "alert"
    WATCH = "watch"
    FAULT = "fault"
    TEMPLATE = "template"
    BACKUP = "backup"
    DOCTOR = "doctor"


# Topics an operator wants to see in the log without DEBUG enabled: a
# heal is one INFO line (its summary), its steps are DEBUG. An alert is
# logged (or handed over) by the Alerts port at its own level; its note
# stays at DEBUG so a log does not show it twice.
_INFO_TOPICS = frozenset(
    {Topic.HEAL, Topic.SWAP, Topic.ASK, Topic.TEMPLATE, Topic.BACKUP},
)
_WARNING_TOPICS = frozenset({Topic.BREAKER})


@dataclass(frozen=True, slots=True)
class Note:
    """One observation or decision, stamped with wall-clock time."""

    at: float
    topic: Topic
    message: str
    data: Mapping[str, Value] = field(default_factory=dict)


@dataclass(slots=True)
class Journal:
    """
    Collects notes and hands each to the subscribers.

    ``keep`` bounds how many notes stay in memory (a watchdog runs for
    months); subscribers see every note.
    """

    keep: int = 1000
    subscribers: list[Callable[[Note], None]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def write(
        self,
        at: float,
        topic: Topic,
        message: str,
        **data: Value,
    ) -> Note:
        """
        Record a note, log it, and pass it to every subscriber.

        A subscriber that raises is logged at WARNING and skipped: the
        journal is written in the middle of heals and turns, which must
        not stop half-way for an observer's bug.
        """
        note = Note(at, topic, message, dict(data))
        self.notes.append(note)
        if len(self.notes) > self.keep:
            del self.notes[: len(self.notes) - self.keep]
        _log_note(note)
        for subscriber in self.subscribers:
            try:
                subscriber(note)
            except Exception:
                _log.warning(
                    "journal subscriber %s failed on a %s note",
                    _name_of(subscriber),
                    note.topic,
                    exc_info=True,
                )

        return note


def _log_note(note: Note) -> None:
    if note.topic in _WARNING_TOPICS:
        level = logging.WARNING
    elif note.topic in _INFO_TOPICS:
        level = logging.INFO
    else:
        level = logging.DEBUG
    extra = {f"sandwarden.{key}": value for key, value in note.data.items()}
    _log.log(level, "%s: %s", note.topic, note.message, extra=extra)


def _name_of(subscriber: Callable[[Note], None]) -> str:
    name = getattr(subscriber, "__qualname__", None)

    return name if isinstance(name, str) else repr(subscriber)
