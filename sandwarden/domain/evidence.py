"""
The evidence of a failure: what of a command's outputs ``classify`` reads.

Stderr, and stdout's lines outside JSON; the lines about sbx's own
Docker sign-in are set apart, so they are never read as Claude's login.
"""

from __future__ import annotations

import json

from sandwarden.domain.symptoms import TOOL_SYMPTOMS, Context

__all__ = ["gather_evidence", "without_docker_account"]

_TOOLS = frozenset({Context.TOOL, Context.IMAGE})


def gather_evidence(
    out: str,
    err: str,
    context: Context,
    exit_code: int | None,
) -> str:
    """
    The text worth searching: stderr, and what on stdout is not JSON.

    JSON is Claude's events or a tool's data, whose strings (an answer
    that talks about Docker, an organisation's name) must not be read as
    a failure. A tool that succeeded printed data on stdout, not
    complaints.
    """
    if context in _TOOLS and exit_code == 0:
        return err
    noise = _non_json_lines(out)
    if not noise:
        return err

    return err + "\n" + "\n".join(noise)


def _non_json_lines(text: str) -> list[str]:
    """
    The lines of ``text`` outside JSON objects, pretty-printed or not.

    A line that starts like JSON but does not parse is a cut-off event,
    not a complaint; only a lone `{` is decoded onwards (`auth status`
    prints its object over several lines), which keeps the work linear.
    """
    decoder = json.JSONDecoder()
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    offset = 0
    skip_to = 0
    for line in lines:
        start, offset = offset, offset + len(line)
        stripped = line.strip()
        if start < skip_to or stripped.startswith("{"):
            if stripped == "{" and start >= skip_to:
                skip_to = _end_of_object(decoder, text, start)
            continue
        kept.append(line.rstrip("\r\n"))

    return kept


def _end_of_object(decoder: json.JSONDecoder, text: str, start: int) -> int:
    begin = text.index("{", start)
    try:
        _, end = decoder.raw_decode(text, begin)
    except ValueError:
        return start

    return end


def without_docker_account(text: str) -> str:
    """Drop the lines about sbx's Docker sign-in, which is not Claude's."""
    account = [s.pattern for s in TOOL_SYMPTOMS if s.docker_account]

    return "\n".join(
        line
        for line in text.splitlines()
        if not any(pattern.search(line) for pattern in account)
    )
