"""
A heal as history: what was tried, and how it ended.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import WardenError

__all__ = ["HealRecord"]


@dataclass(frozen=True, slots=True)
class HealRecord:
    """
    One heal attempt, as stored in the heal history.

    ``steps`` lists each step tried with its outcome, in order, as short
    human sentences; ``sandbox`` is the active sandbox after the heal.
    ``succeeded`` says how the heal itself ended; ``undone_at`` is set
    when its sandbox broke again inside the breaker's window, so that
    the breaker counted it as a failed heal after all (flapping).
    """

    started_at: float
    ended_at: float
    trigger: str
    succeeded: bool
    sandbox: str | None
    steps: tuple[str, ...] = ()
    undone_at: float | None = None

    @property
    def flapped(self) -> bool:
        """Tell whether a successful heal was undone by a breakage."""
        return self.undone_at is not None

    @property
    def held(self) -> bool:
        """Tell whether the heal succeeded and was not undone since."""
        return self.succeeded and self.undone_at is None

    @property
    def failed_at(self) -> float | None:
        """When the breaker counted this heal as failed; None: it did not."""
        if not self.succeeded:
            return self.ended_at

        return self.undone_at

    def undone(self, at: float) -> HealRecord:
        """The record of this heal, undone by a breakage at ``at``."""
        return replace(self, undone_at=at)

    def to_json(self) -> str:
        """Serialise for a store."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Result[HealRecord, WardenError]:
        """Read back what ``to_json`` wrote; refuse anything else."""
        try:
            raw = json.loads(text)
            record = cls(
                started_at=float(raw["started_at"]),
                ended_at=float(raw["ended_at"]),
                trigger=str(raw["trigger"]),
                succeeded=bool(raw["succeeded"]),
                sandbox=None
                if raw["sandbox"] is None
                else str(raw["sandbox"]),
                steps=tuple(str(step) for step in raw["steps"]),
                # Records written before flapping was recorded lack it.
                undone_at=_optional_instant(raw.get("undone_at")),
            )
        except (ValueError, TypeError, KeyError) as error:
            return Failure(
                WardenError.invalid(
                    f"stored heal record is unreadable ({error}); "
                    "expected the JSON object HealRecord.to_json writes",
                ),
            )

        return Success(record)


def _optional_instant(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"expected undone_at to be a number or null, got {value!r}"
        raise TypeError(msg)

    return float(value)
