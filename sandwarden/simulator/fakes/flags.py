"""
Command-line flags as the real tools (Go, cobra and pflag) parse them.

``--name value``, ``--name=value``, ``-n value``, ``-nvalue``, grouped
switches (``-it``), ``--`` to end the flags, and, when ``interspersed``
is off (``exec``), parsing stops at the first positional argument so the
inner command keeps its own flags. Errors carry pflag's wording; each
fake adds its own prefix, usage text and exit code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["DEBUG", "HELP", "Flag", "FlagError", "Parsed", "parse_flags"]


@dataclass(frozen=True, slots=True)
class Flag:
    """One flag: its long name, optional one-letter name, and kind."""

    long: str
    short: str | None = None
    takes_value: bool = False


#: Every subcommand of both tools has these.
DEBUG = Flag("debug", "D")
HELP = Flag("help", "h")


class FlagError(Exception):
    """The arguments do not parse; the message is pflag's."""


@dataclass(slots=True)
class Parsed:
    """Flag values by long name (switches hold ``"true"``) and the rest."""

    values: dict[str, list[str]] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        """Tell whether flag ``name`` was given."""
        return name in self.values

    def get(self, name: str) -> str | None:
        """The last value given for ``name``, if any."""
        given = self.values.get(name)
        return given[-1] if given else None

    def every(self, name: str) -> list[str]:
        """Every value given for a repeatable flag, in order."""
        return list(self.values.get(name, ()))


def parse_flags(
    argv: Sequence[str],
    flags: Sequence[Flag],
    *,
    interspersed: bool = True,
) -> Parsed:
    """Split ``argv`` into flags and positional arguments."""
    known = [DEBUG, HELP, *flags]
    by_long = {flag.long: flag for flag in known}
    by_short = {flag.short: flag for flag in known if flag.short}
    parsed = Parsed()
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        if word == "--":
            parsed.args.extend(rest)
            break
        if word.startswith("--"):
            _take_long(word, rest, by_long, parsed)
        elif word.startswith("-") and word != "-":
            _take_shorts(word, rest, by_short, parsed)
        elif interspersed:
            parsed.args.append(word)
        else:
            parsed.args.append(word)
            parsed.args.extend(rest)
            break

    return parsed


def _take_long(
    word: str,
    rest: list[str],
    by_long: dict[str, Flag],
    parsed: Parsed,
) -> None:
    name, equals, inline = word[2:].partition("=")
    flag = by_long.get(name)
    if flag is None:
        msg = f"unknown flag: --{name}"
        raise FlagError(msg)
    if not flag.takes_value:
        parsed.values.setdefault(flag.long, []).append(inline or "true")
        return
    if not equals and not rest:
        msg = f"flag needs an argument: --{name}"
        raise FlagError(msg)
    value = inline if equals else rest.pop(0)
    parsed.values.setdefault(flag.long, []).append(value)


def _take_shorts(
    word: str,
    rest: list[str],
    by_short: dict[str, Flag],
    parsed: Parsed,
) -> None:
    letters = word[1:]
    for position, letter in enumerate(letters):
        flag = by_short.get(letter)
        if flag is None:
            msg = f"unknown shorthand flag: '{letter}' in {word}"
            raise FlagError(msg)
        if not flag.takes_value:
            parsed.values.setdefault(flag.long, []).append("true")
            continue
        inline = letters[position + 1 :].removeprefix("=")
        if not inline and not rest:
            msg = f"flag needs an argument: '{letter}' in -{letter}"
            raise FlagError(msg)
        value = inline or rest.pop(0)
        parsed.values.setdefault(flag.long, []).append(value)
        return
