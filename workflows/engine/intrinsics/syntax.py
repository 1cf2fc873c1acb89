"""The syntax tree of an intrinsic call: literals, path arguments and nested calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflows.engine.intrinsics.functions import Function
from workflows.engine.paths import JsonPath


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any
    raw: str | None = None  # a string literal as written, escapes included


@dataclass(frozen=True, slots=True)
class PathArg:
    path: JsonPath


@dataclass(frozen=True, slots=True)
class Call:
    function: Function
    args: tuple[Literal | PathArg | Call, ...]
    position: int


Node = Literal | PathArg | Call
