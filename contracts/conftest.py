"""
The ``subject`` fixture: every runtime the contract suite holds to account.

Parametrised over the simulator (docker and sbx flavours), each CLI
adapter with its fake executable, each CLI adapter with the real tool
(only when ``SANDWARDEN_CONTRACT_REAL`` names it: ``docker``, ``sbx`` or
both, comma-separated) and a third party's runtime (only when
``--sandwarden-runtime=module:function`` or
``SANDWARDEN_CONTRACT_FACTORY`` names its factory).

Each test gets fresh ``names`` (see ``ContractNames``); after it, the
subject's ``cleanup()`` runs, if it has one: for a real tool it removes
the test's sandboxes and images, bounded in time, logging (not raising)
what it could not remove. The first real subject of a session also
removes every ``contract-*`` sandbox and image a crashed session left:
do not run two real contract sessions against one tool at once.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest

from contracts.subjects import (
    NAME_PREFIX,
    ContractNames,
    FakeSubject,
    RealSubject,
    SimulatorSubject,
    Subject,
    remove_named,
)
from sandwarden.simulator.world import Tool

_log = logging.getLogger("contracts")

_OPTION = "--sandwarden-runtime"
_FACTORY_ENV = "SANDWARDEN_CONTRACT_FACTORY"
_REAL_ENV = "SANDWARDEN_CONTRACT_REAL"

_SUBJECTS = (
    "simulator-docker",
    "simulator-sbx",
    "docker-fake",
    "sbx-fake",
    "docker-real",
    "sbx-real",
    "custom",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        _OPTION,
        default=None,
        metavar="MODULE:FUNCTION",
        help=(
            "run the contract suite also against the runtime that "
            "FUNCTION(root: Path) -> Subject builds (see contracts/"
            f"subjects.py); the same as {_FACTORY_ENV}"
        ),
    )


@pytest.fixture
def names() -> ContractNames:
    """Sandbox and image names no other test uses."""
    return ContractNames.fresh()


@pytest.fixture(scope="session")
def swept_tools() -> set[str]:
    """The real tools whose stale ``contract-*`` leftovers were removed."""
    return set()


@pytest.fixture(params=_SUBJECTS)
def subject(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    names: ContractNames,
    swept_tools: set[str],
) -> Iterator[Subject]:
    kind = cast(str, request.param)
    built = _build(kind, request.config, tmp_path, names, swept_tools)

    yield built

    cleanup = getattr(built, "cleanup", None)
    if callable(cleanup):
        try:
            cleanup()
        except Exception:
            _log.exception("the clean-up of %s failed", built.label)


def _build(
    kind: str,
    config: pytest.Config,
    root: Path,
    names: ContractNames,
    swept_tools: set[str],
) -> Subject:
    match kind:
        case "simulator-docker":
            return SimulatorSubject(root, Tool.DOCKER_SANDBOX)
        case "simulator-sbx":
            return SimulatorSubject(root, Tool.SBX)
        case "docker-fake":
            return FakeSubject(root, "docker")
        case "sbx-fake":
            return FakeSubject(root, "sbx")
        case "docker-real" | "sbx-real":
            tool = kind.removesuffix("-real")
            wanted = os.environ.get(_REAL_ENV, "")
            if tool not in {part.strip() for part in wanted.split(",")}:
                pytest.skip(
                    f"the real `{tool}` runs only when {_REAL_ENV} names it "
                    f"({_REAL_ENV}={tool}); it creates real sandboxes",
                )
            real = RealSubject(root, tool, names.prefix)
            if tool not in swept_tools:
                swept_tools.add(tool)
                asyncio.run(remove_named(real.cli, NAME_PREFIX))
            return real
        case _:
            return _custom(config, root)


def _custom(config: pytest.Config, root: Path) -> Subject:
    named = config.getoption(_OPTION, default=None) or os.environ.get(
        _FACTORY_ENV
    )
    if not named:
        pytest.skip(
            f"no third-party runtime named ({_OPTION}=module:function or "
            f"{_FACTORY_ENV})",
        )
    module_name, _, function_name = str(named).partition(":")
    if not function_name:
        pytest.fail(
            f"{named!r} does not name a factory; expected module:function",
        )
    factory = cast(
        Callable[[Path], Subject],
        getattr(importlib.import_module(module_name), function_name),
    )

    return factory(root)
