"""The ASL interpreter: parse and validate once, run many times on asyncio.

Public API (kept stable):

    from workflows.engine import StateMachine, DefinitionError, VirtualClock
    sm = StateMachine(definition)
    result = sm.run(input, lambdas={"ChargePayment": handler}, clock=VirtualClock())
    result = await sm.execute(input, lambdas=..., clock=..., name=None)
"""

from workflows.engine.clock import Clock, RealClock, VirtualClock
from workflows.engine.diagnostics import DefinitionError, Diagnostic
from workflows.engine.errors import StatesError
from workflows.engine.lambdas import LambdaContext
from workflows.engine.machine import ExecutionResult, StateMachine
from workflows.engine.mocks import MockConfigError, MockPlan, Return, Throw
from workflows.engine.tasks import ServiceIntegration, TaskRequest, TaskTokens

__all__ = [
    "Clock",
    "DefinitionError",
    "Diagnostic",
    "ExecutionResult",
    "LambdaContext",
    "MockConfigError",
    "MockPlan",
    "RealClock",
    "Return",
    "ServiceIntegration",
    "StateMachine",
    "StatesError",
    "TaskRequest",
    "TaskTokens",
    "Throw",
    "VirtualClock",
]
