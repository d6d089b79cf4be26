"""
`sandwarden config`: the effective settings and where each came from.

Also the helpers every other subcommand uses to take the common settings
flags: ``add_settings_arguments`` on its parser, then
``settings_from_args`` on the parsed namespace.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.errors import WardenError
from sandwarden.settings import (
    CONFIG_FLAG,
    SETTINGS,
    Kind,
    Settings,
    load_settings,
    mask,
)

__all__ = [
    "add_settings_arguments",
    "describe",
    "register",
    "settings_flags",
    "settings_from_args",
]

_PREFIX = "setting_"
# Values longer than this push their source column right; only free text
# past _SHOWN_TEXT (a system prompt) is cut, never a path or a name.
_VALUE_COLUMN = 40
_SHOWN_TEXT = 200


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Add the ``config`` subcommand."""
    parser = subparsers.add_parser(
        "config",
        help="show the effective settings and where each came from",
        description=(
            "Print every setting, its value and its source (default, "
            "file, environment variable or flag). Secrets are masked. "
            "Exit 2 when a value is unusable."
        ),
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object",
    )
    add_settings_arguments(parser)
    parser.set_defaults(handler=_show)


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--config``, a flag per common setting, and ``--set KEY=VALUE``."""
    group = parser.add_argument_group(
        "settings",
        "A flag beats the environment, which beats the configuration "
        "file, which beats the default.",
    )
    group.add_argument(
        CONFIG_FLAG,
        dest=f"{_PREFIX}config",
        metavar="FILE",
        help="TOML configuration file (default: "
        "$XDG_CONFIG_HOME/sandwarden/config.toml if it exists)",
    )
    for spec in SETTINGS:
        if spec.flag is None:
            continue
        if spec.kind is Kind.BOOLEAN:
            group.add_argument(
                spec.flag,
                dest=f"{_PREFIX}{spec.key}",
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{spec.meaning} ({spec.env})",
            )
        else:
            group.add_argument(
                spec.flag,
                dest=f"{_PREFIX}{spec.key}",
                metavar=spec.key.upper(),
                help=f"{spec.meaning} ({spec.env})",
            )
    group.add_argument(
        "--set",
        dest=f"{_PREFIX}set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any setting by its TOML key, e.g. probe_timeout_ms=5000",
    )


def settings_flags(
    args: argparse.Namespace,
) -> Result[dict[str, str | None], WardenError]:
    """
    Turn the parsed flags into the mapping ``load_settings`` takes.

    A setting's own flag beats a ``--set`` of the same key.
    """
    known = {spec.key for spec in SETTINGS}
    flags: dict[str, str | None] = {}
    for item in getattr(args, f"{_PREFIX}set", []):
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or key not in known:
            return Failure(
                WardenError.invalid(
                    f"--set {item!r}: expected KEY=VALUE with KEY one of "
                    + ", ".join(spec.key for spec in SETTINGS),
                ),
            )
        flags[key] = value
    for name, value in vars(args).items():
        if not name.startswith(_PREFIX) or name == f"{_PREFIX}set":
            continue
        if value is None:
            continue
        key = name.removeprefix(_PREFIX)
        flags[key] = str(value).lower() if isinstance(value, bool) else value

    return Success(flags)


def settings_from_args(
    args: argparse.Namespace,
    environ: Mapping[str, str],
) -> Result[Settings, WardenError]:
    """Load the settings from the environment, the file and the flags."""
    home = environ.get("HOME") or os.path.expanduser("~")

    return settings_flags(args).bind(
        lambda flags: load_settings(
            environ, flags, current_directory(environ), home
        ),
    )


def current_directory(environ: Mapping[str, str]) -> str:
    """
    The working directory as the shell spells it.

    ``PWD`` keeps the symbolic links the user typed, which is the spelling
    a sandbox was most likely created with; it is trusted only when it
    names the same directory as the process's own.
    """
    physical = os.getcwd()
    logical = environ.get("PWD", "")
    if logical.startswith("/"):
        try:
            if os.path.samefile(logical, physical):
                return logical
        except OSError:
            pass

    return physical


def describe(settings: Settings) -> dict[str, Any]:
    """The settings as one JSON-ready object, secrets masked."""
    entries: dict[str, Any] = {}
    for spec in SETTINGS:
        value = spec.raw(getattr(settings, spec.attr))
        entries[spec.key] = {
            "value": mask(value) if spec.is_secret() else value,
            "source": settings.source(spec.key),
            "env": spec.env,
            "flag": spec.flag,
        }

    return {
        "config_file": settings.config_file,
        "settings": entries,
        "warnings": list(settings.warnings),
    }


def _show(args: argparse.Namespace) -> int:
    # Imported here, as common imports this module for its settings flags.
    from sandwarden.cli.common import Output  # noqa: PLC0415

    output = Output.current(json=args.json)
    loaded = settings_from_args(args, os.environ)
    if not is_successful(loaded):
        error = loaded.failure()
        if output.json:
            output.fail(error)
            return 2
        lines = error.detail.splitlines() or [error.message]
        for line in lines:
            print(f"sandwarden config: {line}", file=sys.stderr)
        return 2
    settings = loaded.unwrap()
    for warning in settings.warnings:
        print(f"sandwarden config: warning: {warning}", file=sys.stderr)

    described = describe(settings)
    if output.json:
        return output.emit(described)
    print(_table(described))

    return 0


def _table(described: Mapping[str, Any]) -> str:
    file = described["config_file"] or "none found"
    rows = [
        (key, _shown(entry["value"]), entry["source"])
        for key, entry in described["settings"].items()
    ]
    key_width = max(len(row[0]) for row in rows)
    value_width = min(_VALUE_COLUMN, max(len(row[1]) for row in rows))
    lines = [f"config file: {file}", ""]
    lines.extend(
        f"{key:<{key_width}}  {value:<{value_width}}  {source}"
        for key, value, source in rows
    )

    return "\n".join(lines)


def _shown(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value).replace("\n", "\\n")
    if len(text) > _SHOWN_TEXT:
        return text[: _SHOWN_TEXT - 3] + "..."

    return text
