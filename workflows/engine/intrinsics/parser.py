"""The parser of ``States.X(...)`` text into a syntax tree, with AWS's syntax rules.

String literals accept the escapes ``\\'``, ``\\{``, ``\\}`` and ``\\\\`` only; any other
backslash (``\\n`` written as two characters) makes the definition invalid. A real
newline character inside a literal is just a character. Every error names the
problem and its position in the text.
"""

from __future__ import annotations

import re
from typing import Final

from workflows.engine.intrinsics.errors import IntrinsicSyntaxError
from workflows.engine.intrinsics.functions import FUNCTIONS
from workflows.engine.intrinsics.syntax import Call, Literal, Node, PathArg
from workflows.engine.paths import PathSyntaxError, compile_path

_CALL_NAME: Final = re.compile(r"States\.[A-Za-z0-9]+")
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_WORD: Final = re.compile(r"[A-Za-z_]+")
_WHITESPACE: Final = frozenset(" \t\r\n")
_ARG_END: Final = frozenset(",)") | _WHITESPACE
_ESCAPABLE: Final = frozenset("'{}\\")


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, position: int | None = None) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(self.text, message, self.pos if position is None else position)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def parse(self) -> Call:
        call = self.parse_call()
        self.skip_ws()
        if self.pos != len(self.text):
            raise self.error("unexpected text after the function call")
        return call

    def parse_call(self) -> Call:
        start = self.pos
        match = _CALL_NAME.match(self.text, self.pos)
        if not match:
            raise self.error("expected a function name such as 'States.Format'")
        name = match.group()
        function = FUNCTIONS.get(name)
        if function is None:
            raise self.error(f"unknown function '{name}'")
        self.pos = match.end()
        if self.peek() != "(":
            raise self.error(f"expected '(' after '{name}'")
        self.pos += 1
        args: list[Node] = []
        self.skip_ws()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                args.append(self.parse_arg())
                self.skip_ws()
                c = self.peek()
                if c == ",":
                    self.pos += 1
                    continue
                if c == ")":
                    self.pos += 1
                    break
                raise self.error(
                    f"expected ',' or ')' in the arguments of '{name}'"
                    if c
                    else f"missing ')' to close '{name}('"
                )
        count = len(args)
        low, high = function.min_args, function.max_args
        if count < low or (high is not None and count > high):
            expected = (
                f"at least {low}"
                if high is None
                else str(low)
                if low == high
                else f"{low} to {high}"
            )
            plural = "" if expected in ("1", "at least 1") else "s"
            raise self.error(
                f"'{name}' takes {expected} argument{plural} but was given {count}", start
            )
        return Call(function, tuple(args), start)

    def parse_arg(self) -> Node:
        self.skip_ws()
        c = self.peek()
        if not c:
            raise self.error("missing an argument")
        if c == "'":
            return self.parse_string()
        if c == "$":
            return self.parse_path()
        if self.text.startswith("States.", self.pos):
            return self.parse_call()
        if c == "-" or c.isdigit():
            return self.parse_number()
        match = _WORD.match(self.text, self.pos)
        if match:
            word = match.group()
            constants = {"true": True, "false": False, "null": None}
            if word in constants:
                self.pos = match.end()
                self.expect_arg_end()
                return Literal(constants[word])
            raise self.error(f"unexpected '{word}' (string literals take single quotes)")
        raise self.error(f"unexpected {c!r}")

    def expect_arg_end(self) -> None:
        c = self.peek()
        if c and c not in _ARG_END:
            raise self.error(f"unexpected {c!r}")

    def parse_string(self) -> Literal:
        start = self.pos
        self.pos += 1  # opening quote
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise self.error("unterminated string literal", start)
            c = text[self.pos]
            if c == "\\":
                nxt = text[self.pos + 1] if self.pos + 1 < len(text) else ""
                if nxt not in _ESCAPABLE:
                    raise self.error(
                        "invalid escape in a string literal (only \\', \\{, \\} and \\\\ exist)"
                    )
                out.append(nxt)
                self.pos += 2
            elif c == "'":
                raw = text[start + 1 : self.pos]
                self.pos += 1
                self.expect_arg_end()
                return Literal("".join(out), raw)
            else:
                out.append(c)
                self.pos += 1

    def parse_number(self) -> Literal:
        match = _NUMBER.match(self.text, self.pos)
        if not match:
            raise self.error("invalid number")
        self.pos = match.end()
        self.expect_arg_end()
        literal = match.group()
        if match.group(1) or match.group(2):
            return Literal(float(literal))
        return Literal(int(literal))

    def parse_path(self) -> PathArg:
        # A path runs to the first ',', ')' or blank outside brackets, parentheses
        # (filters, length()) and quotes.
        start = self.pos
        text = self.text
        depth = 0
        quote = ""
        i = start
        while i < len(text):
            c = text[i]
            if quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = ""
            elif c in "'\"" and depth:
                quote = c
            elif c in "[(":
                depth += 1
            elif c in "])":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and c in _ARG_END:
                break
            i += 1
        self.pos = i
        source = text[start:i]
        try:
            return PathArg(compile_path(source))
        except PathSyntaxError as exc:
            raise self.error(str(exc), start) from None
