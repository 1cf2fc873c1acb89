"""Static checks of a parsed call that the grammar alone does not make.

A literal ``States.Format`` template must be well formed and have one ``{}`` per
value; the same walk finds whether any path reads the context object (``$$``).
"""

from __future__ import annotations

from workflows.engine.intrinsics.errors import InvalidArguments
from workflows.engine.intrinsics.parser import Parser
from workflows.engine.intrinsics.string_functions import format_parts
from workflows.engine.intrinsics.syntax import Call, Literal, Node, PathArg
from workflows.engine.paths import ROOT_CONTEXT


def _check_format(call: Call, parser: Parser) -> None:
    """A literal Format template must be well formed and match its argument count."""
    template = call.args[0]
    if isinstance(template, Literal) and template.raw is not None:
        try:
            parts = format_parts(template.raw)
        except InvalidArguments:
            raise parser.error(
                "the States.Format template has a '{' or '}' that is neither '{}' nor escaped",
                call.position,
            ) from None
        if len(parts) - 1 != len(call.args) - 1:
            raise parser.error(
                f"the States.Format template has {len(parts) - 1} '{{}}' placeholder(s) "
                f"but {len(call.args) - 1} value(s) follow it",
                call.position,
            )
    elif isinstance(template, Literal):
        raise parser.error("the first argument of States.Format must be a string", call.position)


def walk_checks(node: Node, parser: Parser) -> bool:
    """Static checks over the tree; returns whether any path reads the context object."""
    if isinstance(node, PathArg):
        return node.path.root == ROOT_CONTEXT
    if isinstance(node, Literal):
        return False
    if node.function.name == "States.Format":
        _check_format(node, parser)
    uses_context = False
    for arg in node.args:
        uses_context = walk_checks(arg, parser) or uses_context
    return uses_context
