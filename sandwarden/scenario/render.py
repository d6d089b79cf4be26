"""
A scenario run as text for a terminal, or as one JSON object.

Both forms depend on nothing but the run's outcome, so the same scenario
and seed render to the same bytes. Times are virtual seconds since the
start, shown as ``+HH:MM:SS``.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence

from sandwarden.scenario.runner import Outcome
from sandwarden.scenario.spec import Scenario

__all__ = [
    "clock_text",
    "outcome_json",
    "outcome_text",
    "scenarios_json",
    "scenarios_text",
]

_WIDTH = 79
# The longest topic (``conversation``) and a space, so messages align.
_TOPIC = 13


def clock_text(seconds: float) -> str:
    """Virtual seconds as ``+HH:MM:SS`` (hours grow past 99 if need be)."""
    whole = int(max(0.0, seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)

    return f"+{hours:02d}:{minutes:02d}:{secs:02d}"


def outcome_text(outcome: Outcome) -> str:
    """Header, one line per timeline entry, then the summary block."""
    scenario = outcome.scenario
    lines = [
        f"scenario {scenario.name} (seed {outcome.seed}, "
        f"{clock_text(scenario.duration)[1:]} of virtual time)",
        *_wrapped(scenario.summary, "  "),
        "",
    ]
    lines.extend(
        f"{clock_text(entry.at)}  {entry.topic:<{_TOPIC}}{entry.message}"
        for entry in outcome.timeline
    )
    lines.extend(["", "summary"])
    lines.extend(_summary_lines(outcome.summary, "  "))

    return "\n".join(lines) + "\n"


def outcome_json(outcome: Outcome) -> str:
    """The run as one JSON object: scenario, seed, timeline, summary."""
    scenario = outcome.scenario
    document = {
        "scenario": _describe(scenario),
        "seed": outcome.seed,
        "timeline": [
            {
                "at": round(entry.at, 3),
                "time": clock_text(entry.at),
                "topic": entry.topic,
                "message": entry.message,
                "data": entry.data,
            }
            for entry in outcome.timeline
        ],
        "summary": outcome.summary,
    }

    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def scenarios_text(scenarios: Sequence[Scenario]) -> str:
    """Each scenario's name and summary, as a list to read."""
    lines: list[str] = []
    for scenario in scenarios:
        lines.append(
            f"{scenario.name} ({clock_text(scenario.duration)[1:]})",
        )
        lines.extend(_wrapped(scenario.summary, "    "))
        lines.append("")
    lines.append(
        "Run one with `sandwarden simulate NAME`; pass a file path to run "
        "a scenario of your own.",
    )

    return "\n".join(lines) + "\n"


def scenarios_json(scenarios: Sequence[Scenario]) -> str:
    """The scenarios as a JSON array of objects."""
    listed = [_describe(scenario) for scenario in scenarios]

    return json.dumps(listed, indent=2, ensure_ascii=False) + "\n"


def _describe(scenario: Scenario) -> dict[str, object]:
    return {
        "name": scenario.name,
        "summary": scenario.summary,
        "duration": scenario.duration,
        "faults": len(scenario.faults),
        "asks": len(scenario.asks),
    }


def _wrapped(text: str, indent: str) -> list[str]:
    if not text.strip():
        return []

    return textwrap.wrap(
        " ".join(text.split()),
        _WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_on_hyphens=False,
    )


def _summary_lines(summary: Mapping[str, object], indent: str) -> list[str]:
    """Render the summary whatever its keys: nested tables indent."""
    lines: list[str] = []
    for key, value in summary.items():
        label = key.replace("_", " ")
        if isinstance(value, Mapping):
            if not value:
                lines.append(f"{indent}{label}: none")
                continue
            lines.append(f"{indent}{label}:")
            lines.extend(_summary_lines(value, indent + "  "))
        else:
            lines.append(f"{indent}{label}: {value}")

    return lines
