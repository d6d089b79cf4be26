"""
The built-in scenarios, and loading a scenario by name or from a file.

The built-in scenarios are TOML files shipped in ``builtin/``, one per
failure a simulation can show, each named after its file. ``load``
takes either such a name or the path of a scenario file of one's own.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from returns.pipeline import is_successful
from returns.result import Failure, Result

from sandwarden.domain.errors import WardenError
from sandwarden.scenario.spec import Scenario, parse_scenario

__all__ = ["builtin_names", "builtin_scenarios", "load"]

_SUFFIX = ".toml"


def builtin_names() -> tuple[str, ...]:
    """The names of the built-in scenarios, sorted."""
    return tuple(sorted(_builtin_files()))


def builtin_scenarios() -> tuple[Scenario, ...]:
    """
    Every built-in scenario, sorted by name.

    A built-in file that does not parse is a packaging bug, not the
    user's problem: it raises ``ValueError``.
    """
    scenarios = []
    for name, file in sorted(_builtin_files().items()):
        parsed = parse_scenario(file.read_text("utf-8"), _shown(name))
        if not is_successful(parsed):
            raise ValueError(parsed.failure().message)
        scenarios.append(parsed.unwrap())

    return tuple(scenarios)


def load(name_or_path: str) -> Result[Scenario, WardenError]:
    """
    Read the built-in scenario of that name, or the scenario file there.

    A built-in name wins over a file of the same name in the current
    directory; write ``./name`` to mean the file.
    """
    builtin = _builtin_files()
    name = name_or_path.removesuffix(_SUFFIX)
    if name in builtin and "/" not in name_or_path:
        text = builtin[name].read_text("utf-8")
        return parse_scenario(text, _shown(name))

    path = Path(name_or_path)
    if not path.exists():
        return Failure(
            WardenError.invalid(
                f"{name_or_path}: no built-in scenario of that name and no "
                "such file; expected a file path or one of: "
                + ", ".join(sorted(builtin)),
            ),
        )
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as error:
        return Failure(
            WardenError.invalid(
                f"{name_or_path}: not UTF-8 text ({error.reason} at byte "
                f"{error.start}); expected a TOML scenario file",
            ),
        )
    except OSError as error:
        return Failure(
            WardenError.invalid(
                f"{name_or_path}: cannot be read ({error.strerror or error})"
                "; expected a readable TOML scenario file",
            ),
        )

    return parse_scenario(text, name_or_path)


def _builtin_files() -> dict[str, Traversable]:
    folder = resources.files("sandwarden.scenario").joinpath("builtin")

    return {
        entry.name.removesuffix(_SUFFIX): entry
        for entry in folder.iterdir()
        if entry.name.endswith(_SUFFIX) and entry.is_file()
    }


def _shown(name: str) -> str:
    return f"built-in scenario {name}"
