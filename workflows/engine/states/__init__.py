"""The state types, compiled from a definition once and then run many times.

One class per state type, each running in either query language. Input/output
processing (InputPath, Parameters, ResultSelector, ResultPath, OutputPath for
JSONPath; Arguments, Output for JSONata), Assign, and error recovery (Retry,
Catch) are shared code in ``common``, applied in the order AWS applies them.
States that can never wait (Pass, Choice, Succeed, Fail) run synchronously: the
executor calls ``step`` without an ``await``, which is most of what makes long
chains fast.

- ``common``: base classes, paths, Retry/Catch, Assign/Output plumbing
- ``flow``: Pass, Succeed, Fail, Wait, Choice
- ``task``: Task
- ``parallel``: Parallel, Map
- ``compiler``: ``compile_machine``
"""

from workflows.engine.states.common import Caught, FailError, Machine, State, StepResult
from workflows.engine.states.compiler import compile_machine
from workflows.engine.states.flow import ChoiceState, FailState, PassState, SucceedState, WaitState
from workflows.engine.states.parallel import MapState, ParallelState
from workflows.engine.states.task import TaskState

__all__ = [
    "Caught",
    "ChoiceState",
    "FailError",
    "FailState",
    "Machine",
    "MapState",
    "ParallelState",
    "PassState",
    "State",
    "StepResult",
    "SucceedState",
    "TaskState",
    "WaitState",
    "compile_machine",
]
