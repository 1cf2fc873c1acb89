"""Where a state can go: Next and End, transition targets, reachability, terminal states.

Every target must name a state of the same ``States`` scope (a transition cannot
leave or enter a Parallel branch or a Map processor); every state must be reachable
from StartAt, and each scope needs a state that ends it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from workflows.engine.diagnostics import pointer
from workflows.engine.validation.checker import CheckedState, Checker, Parts
from workflows.engine.validation.codes import (
    CONFLICTING_FIELDS,
    INVALID_TYPE,
    MISSING_END_STATE,
    MISSING_NEXT_OR_END,
    MISSING_TRANSITION_TARGET,
    UNREACHABLE_STATE,
)
from workflows.engine.validation.wording import did_you_mean, json_kind, quoted


class TransitionChecks(Checker):
    def graph(self, states: dict[str, Any], start: str | None, at: Parts, what: str) -> None:
        """Unreachable states and the presence of a terminal state in one scope."""
        terminal = False
        for body in states.values():
            if isinstance(body, dict) and (
                body.get("Type") in ("Succeed", "Fail") or body.get("End") is True
            ):
                terminal = True
        if states and not terminal:
            self.error(
                MISSING_END_STATE,
                f'the {what} has no terminal state: no state has "End": true '
                "and there is no Succeed or Fail state, so an execution could never finish",
                (*at, "States"),
            )
        if start is None or start not in states:
            return
        seen = {start}
        queue = deque([start])
        while queue:
            body = states.get(queue.popleft())
            if not isinstance(body, dict):
                continue
            for target in _targets(body):
                if target in states and target not in seen:
                    seen.add(target)
                    queue.append(target)
        for name in states:
            if name not in seen:
                self.error(
                    UNREACHABLE_STATE,
                    f"state '{name}' is not reachable from StartAt '{start}': no Next, "
                    "Default, Choice rule or Catch leads to it",
                    (*at, "States", name),
                )

    def unknown_target(
        self, field: str, target: str, scope: dict[str, Any], scope_at: Parts, at: Parts
    ) -> None:
        message = f"{field} '{target}' names no state in this scope"
        elsewhere = [s for s in self.scopes_of.get(target, []) if s != scope_at]
        if elsewhere:
            message += (
                f" ('{target}' is defined in {pointer(*elsewhere[0])}; a transition cannot "
                "leave or enter a Parallel branch or a Map item processor)"
            )
        else:
            message += did_you_mean(target, scope)
        message += f"; states are: {quoted(scope)}"
        self.error(MISSING_TRANSITION_TARGET, message, at)

    def target(self, field: str, value: Any, s: CheckedState, at: Parts) -> None:
        """A transition target (Next, Default, a rule's or catcher's Next) in the state's scope."""
        if not isinstance(value, str):
            self.error(INVALID_TYPE, f"{field} must be a state name, not {json_kind(value)}", at)
        elif value not in s.scope:
            self.unknown_target(field, value, s.scope, s.at[:-1], at)

    def transition(self, s: CheckedState) -> None:
        body, at = s.body, s.at
        has_next = "Next" in body
        end = body.get("End")
        if "End" in body and type(end) is not bool:
            self.error(
                INVALID_TYPE, f"End must be true or false, not {json_kind(end)}", (*at, "End")
            )
        if has_next:
            self.target("Next", body["Next"], s, (*at, "Next"))
            if end is True:
                self.error(
                    CONFLICTING_FIELDS,
                    f"state '{s.name}' has both Next and \"End\": true; a state either "
                    "transitions or ends its scope, remove one of them",
                    (*at, "End"),
                )
        elif end is not True:
            self.error(
                MISSING_NEXT_OR_END,
                f"{s.type} state '{s.name}' has neither Next nor \"End\": true; add Next "
                'naming the following state, or "End": true if it is the last one',
                at,
            )


def _targets(body: dict[str, Any]) -> list[str]:
    """The states a state can move to: Next, Default, Choice rule and Catch targets."""
    targets: list[str] = []
    for key in ("Next", "Default"):
        if isinstance(body.get(key), str):
            targets.append(body[key])
    for key in ("Choices", "Catch"):
        items = body.get(key)
        if isinstance(items, list):
            targets.extend(
                item["Next"]
                for item in items
                if isinstance(item, dict) and isinstance(item.get("Next"), str)
            )
    return targets
