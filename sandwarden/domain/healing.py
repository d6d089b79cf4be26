"""
A heal as history: what was tried, and how it ended.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import WardenError

__all__ = ["HealRecord"]


@dataclass(frozen=True, slots=True)
class HealRecord:
    """
    One heal attempt, as stored in the heal history.

    ``steps`` lists each step tried with its outcome, in order, as short
    human sentences; ``sandbox`` is the active sandbox after the heal.
    """

    started_at: float
    ended_at: float
    trigger: str
    succeeded: bool
    sandbox: str | None
    steps: tuple[str, ...] = ()

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
            )
        except (ValueError, TypeError, KeyError) as error:
            return Failure(
                WardenError.invalid(
                    f"stored heal record is unreadable ({error}); "
                    "expected the JSON object HealRecord.to_json writes",
                ),
            )

        return Success(record)
