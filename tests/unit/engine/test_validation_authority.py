"""Every refusal names the AWS behaviour it follows.

``AUTHORITY`` maps each diagnostic code validation refuses a definition with to the
AWS documentation page or recorded behaviour it follows. A new refusal code without
an entry here fails, and so does a refusal test case whose code has none: the rule of
doubtful cases is "never reject what AWS accepts", so a refusal must have a source.
"""

from __future__ import annotations

from typing import Final

from tests.unit.engine.test_jsonata_validation import REJECTED as JSONATA_REJECTED
from tests.unit.engine.test_jsonata_validation import WARNED as JSONATA_WARNED
from tests.unit.engine.test_validation import BROKEN
from workflows.engine import jsonata_validation
from workflows.engine.validation import codes

SPEC: Final = "Amazon States Language specification (states-language.net/spec.html)"
API: Final = (
    "ValidateStateMachineDefinition API reference, ValidateStateMachineDefinitionDiagnostic "
    "(docs.aws.amazon.com/step-functions/latest/apireference)"
)
JSONATA_DOC: Final = "Transforming data with JSONata in Step Functions (dg/transforming-data.html)"
VARIABLES_DOC: Final = "Passing data between states with variables (dg/workflow-variables.html)"

AUTHORITY: Final[dict[str, str]] = {
    # AWS's own diagnostic codes
    codes.MISSING_DESCRIPTION: API + ": an empty definition",
    codes.INVALID_JSON_DESCRIPTION: API + ": the definition is not JSON",
    codes.INVALID_RESOURCE: API + "; AWS: 'Value is not a valid resource ARN'",
    codes.MISSING_END_STATE: API + "; " + SPEC + ", 'Transitions': a terminal state is needed",
    codes.DUPLICATE_STATE_NAME: SPEC + ", 'States': names unique in the whole state machine",
    codes.INVALID_STATE_NAME: "Step Functions quotas: a state name is at most 80 characters",
    codes.DUPLICATE_LABEL_NAME: "Distributed Map state, 'Label': unique in the state machine",
    codes.INVALID_LABEL_NAME: "Distributed Map state, 'Label': 40 characters, no special ones",
    codes.MISSING_TRANSITION_TARGET: SPEC + ", 'Transitions': Next names a state of the scope",
    codes.SCHEMA_VALIDATION_FAILED: (
        "Integrating services with Step Functions (optimized integrations, their APIs and "
        "patterns) and Choosing workflow type (EXPRESS: no activities, .sync or "
        ".waitForTaskToken); AWS's texts as LocalStack records them"
    ),
    # AWS's SCHEMA_VALIDATION_FAILED, named precisely
    codes.INVALID_TYPE: SPEC + ": each field's JSON type ('Field X must be ...')",
    codes.INVALID_VALUE: SPEC + ": the ranges of counts, seconds, percentages, rates",
    codes.MISSING_FIELD: SPEC + ": the required fields of each state type",
    codes.UNKNOWN_FIELD: "AWS: 'SCHEMA_VALIDATION_FAILED: Field X not allowed' (statelint#8)",
    codes.FIELD_NOT_ALLOWED: SPEC + ", 'State Types' table of the fields each type allows",
    codes.CONFLICTING_FIELDS: SPEC + ": 'MUST NOT include both X and XPath', Wait's one of four",
    codes.INVALID_STATE_TYPE: SPEC + ", 'States': Type is one of the eight state types",
    codes.MISSING_NEXT_OR_END: SPEC + ", 'Transitions': Next or End: true",
    codes.UNREACHABLE_STATE: "awslabs/statelint (AWS's linter): every state must be reachable",
    codes.INVALID_QUERY_LANGUAGE: JSONATA_DOC + ": QueryLanguage is JSONPath or JSONata",
    codes.QUERY_LANGUAGE_MISMATCH: JSONATA_DOC + ": the fields each query language has",
    codes.QUERY_LANGUAGE_DOWNGRADE: JSONATA_DOC + ": a JSONata machine's states stay JSONata",
    codes.INVALID_JSONPATH: SPEC + ", 'Paths', as Jayway JsonPath (which AWS runs) parses them",
    codes.INVALID_REFERENCE_PATH: SPEC + ", 'Reference Paths': names and indexes only",
    codes.INVALID_INTRINSIC_FUNCTION: "Intrinsic functions for JSONPath states (dg): signatures",
    codes.INVALID_CHOICE_RULE: SPEC + ", 'Choice Rules': one comparison operator, its type",
    codes.INVALID_TIMESTAMP: SPEC + ", 'Timestamps': RFC3339, uppercase T and Z",
    codes.HEARTBEAT_NOT_LESS_THAN_TIMEOUT: SPEC + ", 'Task State': heartbeat < timeout",
    codes.STATES_ALL_NOT_ALONE: SPEC + ", 'Error names': States.ALL appears alone",
    codes.STATES_ALL_NOT_LAST: SPEC + ", 'Retrying after error': States.ALL is last",
    # JSONata and variables (jsonata_validation.py)
    jsonata_validation.INVALID_JSONATA: JSONATA_DOC + ": an expression must parse",
    jsonata_validation.ILLEGAL_JSONATA_REFERENCE: JSONATA_DOC + ": no $ or $$ at the top level",
    jsonata_validation.INVALID_VARIABLE_NAME: VARIABLES_DOC + ": names, length, 'states'",
}

# AWS accepts definitions with these (warnings and notes only).
ACCEPTED_WITH_A_REMARK: Final = {
    codes.NO_DOLLAR,
    codes.NO_PATH,
    codes.PASS_RESULT_IS_STATIC,
    codes.PLACEHOLDER_VALUE,
    codes.PLACEHOLDER_IN_ARN,
    jsonata_validation.UNDEFINED_VARIABLE,  # issue #8: AWS creates the definition
}


def test_every_code_is_either_a_refusal_with_an_authority_or_a_remark() -> None:
    names = [n for n in dir(codes) if n.isupper() and isinstance(getattr(codes, n), str)]
    names_jsonata = [
        "INVALID_JSONATA",
        "ILLEGAL_JSONATA_REFERENCE",
        "UNDEFINED_VARIABLE",
        "INVALID_VARIABLE_NAME",
    ]
    every = {getattr(codes, n) for n in names} | {
        getattr(jsonata_validation, n) for n in names_jsonata
    }
    unaccounted = every - set(AUTHORITY) - ACCEPTED_WITH_A_REMARK
    assert unaccounted == set()
    assert set(AUTHORITY).isdisjoint(ACCEPTED_WITH_A_REMARK)


def test_every_refusal_tested_has_an_authority() -> None:
    tested = {code for _, _, code, _ in BROKEN} | {code for _, _, code, _ in JSONATA_REJECTED}
    assert tested - set(AUTHORITY) - ACCEPTED_WITH_A_REMARK == set()
    assert all(AUTHORITY[code] for code in tested if code in AUTHORITY)


def test_what_aws_accepts_is_never_an_error() -> None:
    warned = {code for _, _, code, _ in JSONATA_WARNED}
    assert warned <= ACCEPTED_WITH_A_REMARK
