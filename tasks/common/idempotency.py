"""Powertools Idempotency, applied inside the handler path.

The persistence layer needs a boto3 client, so it cannot be created at import time
(the house rule); it gets the sandbox's client from ``tasks.common.aws``.
``run_idempotently`` wraps the task's logic per invocation with a persistence layer
built from settings, or the one a test injects. A duplicate invocation (same key)
returns the stored result without running the logic again; one that arrives while
the first still holds the key raises ``DuplicateRequestInProgress``.

Powertools' idempotency package imports its DynamoDB layer, and with it boto3, as
soon as anything of it is imported (its ``__init__``); it is imported here when a
persistence layer is built or the logic first runs, so that importing a task module
stays cheap (a cold start).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tasks.common.aws import client
from tasks.common.errors import DuplicateRequestInProgress

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import (
        BasePersistenceLayer,
    )
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["BasePersistenceLayer", "dynamodb_persistence", "run_idempotently"]

Payload = dict[str, Any]

# per table: the client a layer was built on, and that layer, never configured
_pristine: dict[str, tuple[Any, BasePersistenceLayer]] = {}
_pristine_lock = threading.Lock()


def dynamodb_persistence(table_name: str) -> BasePersistenceLayer:
    """The production store: the Powertools table named by ``IDEMPOTENCY_TABLE``.

    It uses the sandbox's DynamoDB client (built once), not a new one per invocation.
    Each call returns a new, unconfigured layer (a layer keeps the first configuration
    it is given, and a process may run several functions), but a copy of one built
    once per client: building a layer registers Powertools' User-Agent hook on the
    client again, so a sandbox's every request ran one more hook per invocation it had
    served (the same header, at a growing cost).
    """
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    dynamodb = client("dynamodb")
    with _pristine_lock:
        built = _pristine.get(table_name)
        if built is None or built[0] is not dynamodb:
            layer = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=dynamodb)
            built = _pristine[table_name] = (dynamodb, layer)
    # a shallow copy is what a new layer would be: its configuration is set on it by
    # ``configure``; what it shares (client, serializers) holds no state of a call
    return copy.copy(built[1])


def run_idempotently(
    logic: Callable[[Payload], Payload],
    payload: Payload,
    *,
    name: str,
    key_expression: str,
    persistence: BasePersistenceLayer,
    context: LambdaContext | None,
    transient_error: Callable[[str], Exception],
    validation_expression: str | None = None,
    expires_after_seconds: int = 3600,
) -> Payload:
    """Run ``logic(payload)`` at most once per key (a JMESPath over ``payload``).

    A duplicate arriving while the first still holds the key (running, or dead with
    its record not yet expired) raises ``DuplicateRequestInProgress``, which the state
    machines retry for longer than the function's timeout; an unreachable idempotency
    store is raised as ``transient_error`` (the task's domain error, retried briefly).
    """
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
    )

    config = IdempotencyConfig(
        event_key_jmespath=key_expression,
        payload_validation_jmespath=validation_expression or "",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expires_after_seconds,
    )
    if context is not None:
        config.register_lambda_context(context)

    def guarded_logic(payload: Payload) -> Payload:
        return logic(payload)

    guarded = idempotent_function(
        data_keyword_argument="payload",
        persistence_store=persistence,
        config=config,
        key_prefix=name,
    )(guarded_logic)
    try:
        result: Payload = guarded(payload=payload)
    except IdempotencyAlreadyInProgressError as err:
        raise DuplicateRequestInProgress(
            f"a duplicate {name} request is still in progress"
        ) from err
    except IdempotencyPersistenceLayerError as err:
        raise transient_error(f"the idempotency store is unavailable: {err}") from err
    return result
