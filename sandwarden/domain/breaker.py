"""
The circuit breaker over heals: its state as a storable value.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import WardenError

__all__ = ["BreakerState"]


@dataclass(frozen=True, slots=True)
class BreakerState:
    """
    Everything the breaker remembers, in wall-clock epoch seconds.

    Wall time, not monotonic time: the state is stored and read back by
    other processes and after restarts.
    """

    failures: tuple[float, ...] = ()
    opened_at: float | None = None
    trial_started_at: float | None = None
    last_success_at: float | None = None

    def to_json(self) -> str:
        """Serialise for a store."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Result[BreakerState, WardenError]:
        """Read back what ``to_json`` wrote; refuse anything else."""
        try:
            raw = json.loads(text)
            state = cls(
                failures=tuple(float(t) for t in raw["failures"]),
                opened_at=_optional_float(raw["opened_at"]),
                trial_started_at=_optional_float(raw["trial_started_at"]),
                last_success_at=_optional_float(raw["last_success_at"]),
            )
        except (ValueError, TypeError, KeyError) as error:
            return Failure(
                WardenError.invalid(
                    f"stored breaker state is unreadable ({error}); "
                    "expected the JSON object BreakerState.to_json writes",
                ),
            )

        return Success(state)


def _optional_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    msg = f"expected a number or null, got {value!r}"
    raise TypeError(msg)
