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

Helpers for assertions: ``states_entered(result)``, ``task_attempts(result, state)``.
"""

from workflows.engine import MockPlan, Return, Throw
from workflows.testing.runner import WorkflowRunner, states_entered, task_attempts

__all__ = ["MockPlan", "Return", "Throw", "WorkflowRunner", "states_entered", "task_attempts"]
