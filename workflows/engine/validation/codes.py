"""The ``code`` of every diagnostic definition validation reports, in one place.

AWS's own codes where AWS documents one for the problem; where AWS only says
``SCHEMA_VALIDATION_FAILED`` the code names the problem instead. Callers and tests
compare codes, and ``jsonata_validation`` reuses some, so they are constants.
"""

from __future__ import annotations

from typing import Final

# AWS's documented ValidateStateMachineDefinition codes.
MISSING_DESCRIPTION: Final = "MISSING_DESCRIPTION"
INVALID_JSON_DESCRIPTION: Final = "INVALID_JSON_DESCRIPTION"
INVALID_RESOURCE: Final = "INVALID_RESOURCE"
MISSING_END_STATE: Final = "MISSING_END_STATE"
DUPLICATE_STATE_NAME: Final = "DUPLICATE_STATE_NAME"
INVALID_STATE_NAME: Final = "INVALID_STATE_NAME"
DUPLICATE_LABEL_NAME: Final = "DUPLICATE_LABEL_NAME"
INVALID_LABEL_NAME: Final = "INVALID_LABEL_NAME"
MISSING_TRANSITION_TARGET: Final = "MISSING_TRANSITION_TARGET"
NO_DOLLAR: Final = "NO_DOLLAR"  # warning
NO_PATH: Final = "NO_PATH"  # warning
PASS_RESULT_IS_STATIC: Final = "PASS_RESULT_IS_STATIC"  # warning
# AWS's catch-all code, used where AWS's own message is reproduced word for word
# (unrecognized Task resources, resources an EXPRESS workflow cannot use).
SCHEMA_VALIDATION_FAILED: Final = "SCHEMA_VALIDATION_FAILED"
# Problems AWS reports as SCHEMA_VALIDATION_FAILED, named precisely here.
INVALID_TYPE: Final = "INVALID_TYPE"  # a value of the wrong JSON type
INVALID_VALUE: Final = "INVALID_VALUE"  # the right type, a value out of range or not allowed
MISSING_FIELD: Final = "MISSING_FIELD"
UNKNOWN_FIELD: Final = "UNKNOWN_FIELD"  # a field ASL does not know at this place
FIELD_NOT_ALLOWED: Final = "FIELD_NOT_ALLOWED"  # an ASL field this state type does not accept
CONFLICTING_FIELDS: Final = "CONFLICTING_FIELDS"  # two fields of which only one may be given
INVALID_STATE_TYPE: Final = "INVALID_STATE_TYPE"
MISSING_NEXT_OR_END: Final = "MISSING_NEXT_OR_END"
UNREACHABLE_STATE: Final = "UNREACHABLE_STATE"
INVALID_QUERY_LANGUAGE: Final = "INVALID_QUERY_LANGUAGE"
QUERY_LANGUAGE_MISMATCH: Final = "QUERY_LANGUAGE_MISMATCH"
QUERY_LANGUAGE_DOWNGRADE: Final = "QUERY_LANGUAGE_DOWNGRADE"
INVALID_JSONPATH: Final = "INVALID_JSONPATH"
INVALID_REFERENCE_PATH: Final = "INVALID_REFERENCE_PATH"
INVALID_INTRINSIC_FUNCTION: Final = "INVALID_INTRINSIC_FUNCTION"
INVALID_CHOICE_RULE: Final = "INVALID_CHOICE_RULE"
INVALID_TIMESTAMP: Final = "INVALID_TIMESTAMP"
HEARTBEAT_NOT_LESS_THAN_TIMEOUT: Final = "HEARTBEAT_NOT_LESS_THAN_TIMEOUT"
STATES_ALL_NOT_ALONE: Final = "STATES_ALL_NOT_ALONE"
STATES_ALL_NOT_LAST: Final = "STATES_ALL_NOT_LAST"
# Notes (severity NOTE) when placeholders are understood: a value the deployment fills.
PLACEHOLDER_VALUE: Final = "PLACEHOLDER_VALUE"  # a whole value is ${Name}: accepted as any
PLACEHOLDER_IN_ARN: Final = "PLACEHOLDER_IN_ARN"  # an ARN checked with stand-ins for ${...}
