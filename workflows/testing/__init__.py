"""Testing workflows with pytest.

Installing the project registers a pytest plugin (``workflows.testing.plugin``) with
two fixtures:

- ``virtual_clock``: a ``VirtualClock``; waits, retry back-off and timeouts of the
  executions that use it take no real time.
- ``workflows``: a ``WorkflowRunner`` over ``state_machines/`` of the project under
  test. ``workflows.run("order_processing", order, mocks={...})`` runs the definition
  with its placeholders filled (explicit ``substitutions`` or stand-ins of the right
  shape), Task states answered by mocks (``Return``/``Throw`` or an AWS Step Functions
  Local mock config) or by in-process ``lambdas``, on the virtual clock.

What happened (``workflows.testing.assertions``): ``inspect(result)`` gives the path
and each state's input, output, variables, error and attempts; ``assert_path``,
``assert_state`` (with ``ANY``, ``contains(...)`` or predicates) fail with what
happened instead; ``snapshot(result)`` is a stable text of the history.
``replay(history, definition)`` runs a definition against an execution recorded on
AWS (``workflows.testing.replay``).
"""

from workflows.engine import MockPlan, Return, Throw
from workflows.testing.assertions import (
    ANY,
    Inspection,
    StateView,
    assert_path,
    assert_state,
    contains,
    inspect,
    snapshot,
)
from workflows.testing.replay import ReplayResult, replay
from workflows.testing.runner import WorkflowRunner, states_entered, task_attempts

__all__ = [
    "ANY",
    "Inspection",
    "MockPlan",
    "ReplayResult",
    "Return",
    "StateView",
    "Throw",
    "WorkflowRunner",
    "assert_path",
    "assert_state",
    "contains",
    "inspect",
    "replay",
    "snapshot",
    "states_entered",
    "task_attempts",
]
