"""
Claude's text as it arrives, for live display, each piece shown once.

The same words can reach the stream up to three times: as deltas (with
``--include-partial-messages``), in the complete assistant line of their
content block, and in the final result. ``LiveText`` shows the deltas as
they come, then from each assistant line only what the deltas did not
already show (all of it when no delta came), and the result only when
nothing at all was shown since the last tool results: the result repeats
the last turn's blocks, but not always verbatim (joined by blank lines,
or run together), so comparing texts would print them twice.

A complete assistant line is matched to the deltas of its own message
(``message_start`` names it), block by block, by text, ignoring
whitespace: the CLI writes one line per content block, the block index
it would need is not on the line, and its text may differ from the
deltas' in whitespace at the ends.

What it keeps is bounded by one turn: the deltas of blocks whose full
line has not come yet, forgotten at the next tool results.
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
        "_turn_shown",
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
        # Whether text was shown since the last tool results, which
        # would make the result a repeat.
        self._turn_shown = False

    def feed(self, event: Event) -> str:
        """Return the text ``event`` adds to the display ("" for none)."""
        if type(event) is StreamEvent:
            return self._delta(event)
        if type(event) is AssistantMessage:
            return self._assistant(event)
        if type(event) is ResultEvent:
            return self._result(event)
        if type(event) is UserMessage and event.results:
            self._turn_shown = False
            self._streamed.clear()

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
            rest = _rest(text, "".join(parts))
            if rest is not None:
                del self._streamed[key]
                return key, rest
        self._blocks += 1

        return ("block", self._blocks), text

    def _result(self, event: ResultEvent) -> str:
        self._streamed.clear()
        text = (event.result or "").strip()
        if not text or (event.is_error and not self._include_errors):
            return ""
        if self._turn_shown:
            return ""

        return self._show(("result", None), event.result or "")

    def _show(self, block: object, text: str) -> str:
        if block != self._block and self._shown and not self._ends_line:
            text = "\n" + text
        self._block = block
        self._shown = True
        self._ends_line = text.endswith("\n")
        self._turn_shown = True

        return text


def _rest(text: str, streamed: str) -> str | None:
    """
    Return what ``text`` adds to ``streamed``, or None if it is not its.

    The two match when one's characters other than whitespace begin the
    other's; ``"Hello "`` streamed then ``"Hello"`` adds nothing.
    """
    # Nearly always the line repeats the deltas exactly, or but for
    # whitespace at the ends: both are settled by C string methods, and
    # only a difference inside falls to the walk over every character.
    if text.startswith(streamed):
        return text[len(streamed) :]
    core = streamed.strip()
    lead = text.lstrip()
    if lead.startswith(core):
        return _after(lead[len(core) :], streamed)

    return _walk(text, streamed)


def _walk(text: str, streamed: str) -> str | None:
    """``_rest`` one character at a time, skipping whitespace in both."""
    at = 0
    for char in streamed:
        if char.isspace():
            continue
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return ""
        if text[at] != char:
            return None
        at += 1

    return _after(text[at:], streamed)


def _after(rest: str, streamed: str) -> str:
    """What remains of ``rest`` once the deltas' trailing space is shown."""
    trailing = streamed[len(streamed.rstrip()) :]
    if rest.startswith(trailing):
        return rest[len(trailing) :]

    return rest.lstrip()
