"""
The ``subject`` fixture: every runtime the contract suite holds to account.

Parametrised over the simulator (docker and sbx flavours), each CLI
adapter with its fake executable, each CLI adapter with the real tool
(only when ``SANDWARDEN_CONTRACT_REAL`` names it: ``docker``, ``sbx`` or
both, comma-separated) and a third party's runtime (only when
``--sandwarden-runtime=module:function`` or
``SANDWARDEN_CONTRACT_FACTORY`` names its factory).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest

from contracts.subjects import (
    FakeSubject,
    RealSubject,
    SimulatorSubject,
    Subject,
)
from sandwarden.simulator.world import Tool

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


@pytest.fixture(params=_SUBJECTS)
def subject(
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[Subject]:
    kind = cast(str, request.param)
    yield _build(kind, request.config, tmp_path)


def _build(kind: str, config: pytest.Config, root: Path) -> Subject:
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
            return RealSubject(root, tool)
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
