"""Validate an Amazon States Language definition the way AWS does before it runs one.

``validate_definition`` walks a definition (the parsed JSON object, or its text)
once and reports every problem it finds as a ``Diagnostic`` carrying a stable
``code`` and the JSON pointer of the offending field, like AWS
ValidateStateMachineDefinition. An empty list (or a list of warnings only) means
CreateStateMachine would accept the definition.

What is checked, in the top-level machine and in every Parallel branch and Map
ItemProcessor (or legacy Iterator):

- structure: required and unknown fields, JSON types, the fields each state type
  allows, the query language of each state and the fields only one language allows;
- transitions: ``Next``/``End``, ``StartAt``, Choice ``Default`` and rule targets,
  Catch targets, all inside their own ``States`` scope; unreachable states; a
  scope without any terminal state; state names (length, uniqueness);
- expressions: JSONPath and reference paths, ``.$`` fields of payload templates,
  intrinsic functions, Choice rules (``workflows.engine.choice``);
- per state type: Wait's single wait field and its timestamp, Task's Resource ARN
  (``resources``: a Lambda function, an activity, an optimized integration with a
  pattern it supports, or ``aws-sdk:``; activities and ``.sync``/``.waitForTaskToken``
  refused in an EXPRESS workflow) and timeouts, Retry and Catch (``States.ALL`` alone
  and last), Map processor configuration, concurrency and failure tolerance, a
  Distributed Map's ItemReader, ItemBatcher and ResultWriter (``distributed_map``),
  Fail's error and cause.

``validate_definition(definition, machine_type="EXPRESS")`` checks a definition as an
EXPRESS workflow; ``placeholders=True`` checks a file kept beside infrastructure code,
whose ``${Name}`` placeholders the deployment fills (``placeholders``): they are
accepted with a ``NOTE`` (severity ``"NOTE"``), never refused.

Codes: AWS's own codes where AWS documents one for the problem
(``MISSING_TRANSITION_TARGET``, ``INVALID_RESOURCE``, ``MISSING_END_STATE``,
``DUPLICATE_STATE_NAME``, ``INVALID_STATE_NAME``, ``INVALID_LABEL_NAME``,
``DUPLICATE_LABEL_NAME``, ``INVALID_JSON_DESCRIPTION``, ``MISSING_DESCRIPTION``,
and the warnings ``NO_DOLLAR``, ``NO_PATH``, ``PASS_RESULT_IS_STATIC``); where AWS
only says ``SCHEMA_VALIDATION_FAILED`` the code names the problem instead, except
where AWS's own text is reproduced word for word (unrecognized resources, EXPRESS
restrictions), which keep ``SCHEMA_VALIDATION_FAILED``.

The rule for doubtful cases is: never reject what AWS accepts. Every definition of
the conformance suite (recorded against AWS) validates without an error.

The package, one module per kind of check: ``validator`` walks the definition and
assembles the checks of ``fields`` (with ``query_languages``), ``expressions``,
``transitions``, ``flow_states``, ``task_state`` (with ``resources``), ``choice_state``,
``parallel_and_map_states`` and ``handlers`` (Retry and Catch) on the base in
``checker``; ``placeholders`` knows deployment placeholders; ``codes`` lists the
diagnostic codes.
"""

from __future__ import annotations

from workflows.engine.validation.codes import (
    CONFLICTING_FIELDS,
    DUPLICATE_LABEL_NAME,
    DUPLICATE_STATE_NAME,
    FIELD_NOT_ALLOWED,
    HEARTBEAT_NOT_LESS_THAN_TIMEOUT,
    INVALID_CHOICE_RULE,
    INVALID_INTRINSIC_FUNCTION,
    INVALID_JSON_DESCRIPTION,
    INVALID_JSONPATH,
    INVALID_LABEL_NAME,
    INVALID_QUERY_LANGUAGE,
    INVALID_REFERENCE_PATH,
    INVALID_RESOURCE,
    INVALID_STATE_NAME,
    INVALID_STATE_TYPE,
    INVALID_TIMESTAMP,
    INVALID_TYPE,
    INVALID_VALUE,
    MISSING_DESCRIPTION,
    MISSING_END_STATE,
    MISSING_FIELD,
    MISSING_NEXT_OR_END,
    MISSING_TRANSITION_TARGET,
    NO_DOLLAR,
    NO_PATH,
    PASS_RESULT_IS_STATIC,
    PLACEHOLDER_IN_ARN,
    PLACEHOLDER_VALUE,
    QUERY_LANGUAGE_DOWNGRADE,
    QUERY_LANGUAGE_MISMATCH,
    SCHEMA_VALIDATION_FAILED,
    STATES_ALL_NOT_ALONE,
    STATES_ALL_NOT_LAST,
    UNKNOWN_FIELD,
    UNREACHABLE_STATE,
)
from workflows.engine.validation.query_languages import JSONATA as JSONATA
from workflows.engine.validation.query_languages import JSONPATH as JSONPATH
from workflows.engine.validation.validator import MachineType as MachineType
from workflows.engine.validation.validator import validate_definition
from workflows.engine.validation.wording import json_kind as json_kind

__all__ = [
    "CONFLICTING_FIELDS",
    "DUPLICATE_LABEL_NAME",
    "DUPLICATE_STATE_NAME",
    "FIELD_NOT_ALLOWED",
    "HEARTBEAT_NOT_LESS_THAN_TIMEOUT",
    "INVALID_CHOICE_RULE",
    "INVALID_INTRINSIC_FUNCTION",
    "INVALID_JSONPATH",
    "INVALID_JSON_DESCRIPTION",
    "INVALID_LABEL_NAME",
    "INVALID_QUERY_LANGUAGE",
    "INVALID_REFERENCE_PATH",
    "INVALID_RESOURCE",
    "INVALID_STATE_NAME",
    "INVALID_STATE_TYPE",
    "INVALID_TIMESTAMP",
    "INVALID_TYPE",
    "INVALID_VALUE",
    "MISSING_DESCRIPTION",
    "MISSING_END_STATE",
    "MISSING_FIELD",
    "MISSING_NEXT_OR_END",
    "MISSING_TRANSITION_TARGET",
    "NO_DOLLAR",
    "NO_PATH",
    "PASS_RESULT_IS_STATIC",
    "PLACEHOLDER_IN_ARN",
    "PLACEHOLDER_VALUE",
    "QUERY_LANGUAGE_DOWNGRADE",
    "QUERY_LANGUAGE_MISMATCH",
    "SCHEMA_VALIDATION_FAILED",
    "STATES_ALL_NOT_ALONE",
    "STATES_ALL_NOT_LAST",
    "UNKNOWN_FIELD",
    "UNREACHABLE_STATE",
    "validate_definition",
]
