"""Intrinsic functions (``States.*``) for the JSONPath query language, compiled once.

Why this is hand-written: no Python library implements the Amazon States Language
intrinsics, and the few interpreters that carry them (in other languages) differ from
AWS exactly where users notice: how numbers are rounded, how ``States.Format`` prints an
object, which escapes a string literal accepts, and the error each misuse produces.
So the engine carries its own small compiler. A ``"field.$": "States.X(...)"`` value is
parsed once, when the definition is loaded, into a tree of closures; evaluating it
resolves the paths and calls the functions with no reparsing.

The package, in the order a call goes through it:

- ``parser``: text to a tree (``syntax``), with AWS's grammar and string escapes;
- ``checks``: what the grammar alone does not reject (``States.Format`` templates);
- ``compiler``: the tree to closures, ``Intrinsic.evaluate`` and AWS's error texts;
- ``functions``: the registry of the 18 functions and their signatures, whose bodies
  are in ``array_functions``, ``encoding_functions``, ``json_functions``,
  ``math_functions`` and ``string_functions``;
- ``arguments`` and ``java_text``: Java's integer and printing rules, which AWS follows;
- ``errors``: the compile-time and run-time failures.
"""

from __future__ import annotations

from workflows.engine.intrinsics.compiler import Intrinsic, compile_intrinsic, is_intrinsic
from workflows.engine.intrinsics.errors import IntrinsicSyntaxError

__all__ = [
    "Intrinsic",
    "IntrinsicSyntaxError",
    "compile_intrinsic",
    "is_intrinsic",
]
