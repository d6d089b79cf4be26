"""
Claude's text as it arrives, for live display, each piece shown once.

The same words can reach the stream up to three times: as deltas (with
``--include-partial-messages``), in the complete assistant line of their
content block, and in the final result. ``LiveText`` shows the deltas as
they come, then from each assistant line only what the deltas did not
already show (all of it when no delta came), and the result only when the
last turn's text was not shown at all.

A complete assistant line is matched to the deltas of its own message
(``message_start`` names it), block by block, by text: the CLI writes
one line per content block, and the block index it would need is not on
the line.
"""

from __future__ import annotations

from sandwarden.domain.events import (
    AssistantMessage,
    Event,
    ResultEvent,
    StreamEvent,
    TextBlock,
    UserMessage,
)

__all__ = ["LiveText"]

_BlockKey = tuple[str | None, int | None]
# Where text to show comes from, and that text.
_Unshown = tuple[object, str]


class LiveText:
    """
    Turn events into the text to show, incrementally.

    Failed turns (the CLI's synthetic messages, error results) are not
    Claude's answer and are left out unless ``include_errors`` is true;
    the reply reports them.
    """

    __slots__ = (
        "_block",
        "_blocks",
        "_ends_line",
        "_include_errors",
        "_message",
        "_shown",
        "_streamed",
        "_turn",
    )

    def __init__(self, *, include_errors: bool = False) -> None:
        self._include_errors = include_errors
        # The message the deltas belong to, named by message_start.
        self._message: str | None = None
        # Text shown from deltas, per block, until its full line comes.
        self._streamed: dict[_BlockKey, list[str]] = {}
        # The block that showed text last; a new one starts a new line.
        self._block: object = None
        self._blocks = 0
        self._shown = False
        self._ends_line = True
        # Text shown since the last tool results, to spot the result.
        self._turn: list[str] = []

    def feed(self, event: Event) -> str:
        """Return the text ``event`` adds to the display ("" for none)."""
        if type(event) is StreamEvent:
            return self._delta(event)
        if type(event) is AssistantMessage:
            return self._assistant(event)
        if type(event) is ResultEvent:
            return self._result(event)
        if type(event) is UserMessage and event.results:
            self._turn.clear()

        return ""

    def _delta(self, event: StreamEvent) -> str:
        if event.event_type == "message_start":
            self._message = event.message_id
            return ""
        if event.delta_type != "text_delta" or not event.text:
            return ""

        key = (self._message, event.index)
        self._streamed.setdefault(key, []).append(event.text)

        return self._show(key, event.text)

    def _assistant(self, event: AssistantMessage) -> str:
        failed = event.synthetic or event.error is not None
        if failed and not self._include_errors:
            return ""

        shown = []
        for block in event.blocks:
            if type(block) is TextBlock and block.text:
                key, rest = self._unstreamed(event.message_id, block.text)
                if rest:
                    shown.append(self._show(key, rest))

        return "".join(shown)

    def _unstreamed(self, message_id: str | None, text: str) -> _Unshown:
        """Return the part of a block's text its deltas did not show."""
        for key, parts in self._streamed.items():
            if key[0] not in {message_id, None}:
                continue
            streamed = "".join(parts)
            if text.startswith(streamed):
                del self._streamed[key]
                return key, text[len(streamed) :]
        self._blocks += 1

        return ("block", self._blocks), text

    def _result(self, event: ResultEvent) -> str:
        self._streamed.clear()
        text = (event.result or "").strip()
        if not text or (event.is_error and not self._include_errors):
            return ""
        if text in "".join(self._turn):
            return ""

        return self._show(("result", None), event.result or "")

    def _show(self, block: object, text: str) -> str:
        if block != self._block and self._shown and not self._ends_line:
            text = "\n" + text
        self._block = block
        self._shown = True
        self._ends_line = text.endswith("\n")
        self._turn.append(text)

        return text
