"""
Plain-data conversion of the simulator's dataclasses, for JSON.

The world is stored between invocations of the fake executables, so every
piece of it must survive a round trip through JSON unchanged. Rather than
one hand-written pair of functions per class, the conversion follows the
type hints: dataclasses become objects, enums their values, bytes base64
text, tuples and lists arrays, dicts objects with string keys.
"""

from __future__ import annotations

import base64
import dataclasses
import types
import typing
from enum import Enum
from typing import Any, TypeVar

__all__ = ["from_plain", "to_plain"]

_T = TypeVar("_T")


def to_plain(value: object) -> Any:
    """Turn a value of the simulator's types into JSON-ready data."""
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_plain(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}

    return value


def from_plain(kind: type[_T], raw: object) -> _T:
    """
    Rebuild a value of type ``kind`` from what ``to_plain`` produced.

    Raises ``ValueError`` or ``TypeError`` naming the offending field;
    callers at a boundary turn that into a ``Result``.
    """
    value: _T = _convert(kind, raw, kind.__name__)
    return value


def _convert(hint: Any, raw: object, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _convert_union(typing.get_args(hint), raw, where)
    if origin is list:
        (item,) = typing.get_args(hint)
        return [
            _convert(item, entry, f"{where}[{index}]")
            for index, entry in enumerate(_expect(list, raw, where))
        ]
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(
            _convert(item, entry, f"{where}[{index}]")
            for index, entry in enumerate(_expect(list, raw, where))
        )
    if origin is dict:
        _, item = typing.get_args(hint)
        return {
            key: _convert(item, entry, f"{where}.{key}")
            for key, entry in _expect(dict, raw, where).items()
        }
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _convert_dataclass(hint, raw, where)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(raw)

    return _convert_scalar(hint, raw, where)


def _convert_union(options: tuple[Any, ...], raw: object, where: str) -> Any:
    if raw is None and type(None) in options:
        return None
    concrete = [option for option in options if option is not type(None)]
    if len(concrete) != 1:
        msg = f"{where}: unions of several types are not supported"
        raise TypeError(msg)

    return _convert(concrete[0], raw, where)


def _convert_dataclass(hint: type[Any], raw: object, where: str) -> Any:
    data = _expect(dict, raw, where)
    hints = typing.get_type_hints(hint)
    known = {field.name for field in dataclasses.fields(hint)}
    unknown = sorted(set(data) - known)
    if unknown:
        msg = f"{where}: unknown field(s) {', '.join(unknown)}"
        raise ValueError(msg)
    arguments = {
        name: _convert(hints[name], entry, f"{where}.{name}")
        for name, entry in data.items()
    }

    return hint(**arguments)


def _convert_scalar(hint: Any, raw: object, where: str) -> Any:
    if hint is bytes:
        return base64.b64decode(_expect(str, raw, where), validate=True)
    if hint is float and isinstance(raw, int) and not isinstance(raw, bool):
        return float(raw)
    if hint in (str, int, float, bool):
        return _expect(hint, raw, where)
    if hint is object or hint is Any:
        return raw
    msg = f"{where}: cannot rebuild a value of type {hint!r}"
    raise TypeError(msg)


def _expect(kind: type[_T], raw: object, where: str) -> _T:
    if isinstance(raw, bool) and kind is not bool:
        msg = f"{where}: expected {kind.__name__}, got a boolean"
        raise TypeError(msg)
    if not isinstance(raw, kind):
        msg = f"{where}: expected {kind.__name__}, got {type(raw).__name__}"
        raise TypeError(msg)

    return raw
