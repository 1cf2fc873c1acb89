"""Choice rules (JSONPath) behave as AWS Step Functions evaluates them."""

from __future__ import annotations

from typing import Any

import pytest

from workflows.engine.choice import ChoiceRuleError, Rule, compile_rule
from workflows.engine.errors import StatesError

MISSING_CAUSE = "Invalid path '{}': The choice state's condition path references an invalid value."

# One value of every JSON type, as the recorded AWS cases use them.
ANY_JSON: list[Any] = [None, 0, 0.0, 1, 1.1, "", " ", "HelloWorld", [], [""], {}, {"A": 0}, True]


def holds(
    rule: dict[str, Any],
    data: Any,
    context: Any = None,
    variables: dict[str, Any] | None = None,
) -> bool:
    return compile_rule(rule).matches(data, context, variables)


def var(operator: str, operand: Any, value: Any) -> bool:
    """``{"Variable": "$.v", operator: operand}`` against ``{"v": value}``."""
    return holds({"Variable": "$.v", operator: operand}, {"v": value})


def var_path(operator: str, value: Any, other: Any) -> bool:
    """``{"Variable": "$.v", operator + "Path": "$.w"}`` against ``{"v": value, "w": other}``."""
    return holds({"Variable": "$.v", f"{operator}Path": "$.w"}, {"v": value, "w": other})


# ----------------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("operator", "value", "operand", "expected"),
    [
        ("StringEquals", "Hello", "Hello", True),
        ("StringEquals", "hello", "Hello", False),
        ("StringEquals", " ", "     ", False),
        ("StringEquals", "\t\n", "\t\r\n", False),
        ("StringLessThan", "A", "AB", True),
        ("StringLessThan", "AB", "A", False),
        ("StringLessThan", "", "", False),
        ("StringLessThan", "B", "a", True),
        ("StringGreaterThan", "AB", "A", True),
        ("StringGreaterThan", "A", "A ", False),
        ("StringGreaterThan", "A", "A\t\n\r", False),
        ("StringLessThanEquals", "", "", True),
        ("StringLessThanEquals", "A", "AB", True),
        ("StringLessThanEquals", "AB", "A", False),
        ("StringGreaterThanEquals", "", "", True),
        ("StringGreaterThanEquals", "AB", "A", True),
        ("StringGreaterThanEquals", "A", "AB", False),
    ],
)
def test_string_comparisons_and_their_path_variants(
    operator: str, value: str, operand: str, expected: bool
) -> None:
    assert var(operator, operand, value) is expected
    assert var_path(operator, value, operand) is expected


def test_strings_order_by_utf16_code_unit_like_java() -> None:
    # U+10000 is a surrogate pair (0xD800 0xDC00) and so sorts before U+FFFF in Java,
    # although its code point is larger.
    astral, last_bmp = "\U00010000", "\uffff"
    assert var("StringLessThan", last_bmp, astral)
    assert not var("StringGreaterThan", last_bmp, astral)
    assert var_path("StringLessThan", "é" + astral, "é" + last_bmp)
    # Outside that corner, code-point order: "é" (U+00E9) sorts after "e" and "z".
    assert var("StringLessThan", "z", "é") is False
    assert var("StringGreaterThan", "e", "é")


@pytest.mark.parametrize(
    "operator",
    [
        "StringEquals",
        "StringLessThan",
        "StringGreaterThan",
        "StringLessThanEquals",
        "StringGreaterThanEquals",
    ],
)
@pytest.mark.parametrize("value", [v for v in ANY_JSON if not isinstance(v, str)])
def test_string_operators_are_false_for_non_strings(operator: str, value: Any) -> None:
    assert var(operator, "HelloWorld", value) is False
    assert var_path(operator, value, "HelloWorld") is False
    assert var_path(operator, "HelloWorld", value) is False


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("foo*.log", "foo23.log", True),
        ("*.log", "zebra.log", True),
        ("foo*.*", "foobar.zebra", True),
        ("log-*.txt", "log-.txt", True),
        ("log-*.txt", "log-1.csv", False),
        ("*", "", True),
        ("*", "anything at all", True),
        ("**", "x", True),
        ("", "", True),
        ("", "x", False),
        ("abc", "abc", True),
        ("abc", "abcd", False),
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "acb", False),
        ("a*aa", "aaa", True),
        ("a*aa", "aa", False),
        ("ab*ba", "aba", False),
        ("*x*x*", "axbxc", True),
        ("*x*x*", "axb", False),
        ("Hello?", "Hello!", False),
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
        (".*", "abc", False),
        (r"\*", "*", True),
        (r"\*", "x", False),
        (r"2\*3=*", "2*3=6", True),
        (r"a\\b", "a\\b", True),
        (r"a\\*", "a\\", True),
        (r"a\\*", "a\\xyz", True),
        (r"a\\\*", "a\\*", True),
        (r"a\\\*", "a\\xyz", False),
        ("line*end", "line\none\nend", True),
    ],
)
def test_string_matches_wildcards_and_escapes(pattern: str, value: str, expected: bool) -> None:
    assert var("StringMatches", pattern, value) is expected


@pytest.mark.parametrize("value", [v for v in ANY_JSON if not isinstance(v, str)])
def test_string_matches_is_false_for_non_strings(value: Any) -> None:
    assert var("StringMatches", "*", value) is False


# ----------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("operator", "value", "operand", "expected"),
    [
        ("NumericEquals", 0, 0, True),
        ("NumericEquals", 0, 0.0, True),
        ("NumericEquals", 0.0, 0, True),
        ("NumericEquals", 1, 1.0, True),
        ("NumericEquals", 2.22, 2.22, True),
        ("NumericEquals", 1.1, 1, False),
        ("NumericEquals", -3, -3, True),
        ("NumericEquals", 10**20, 10**20, True),
        ("NumericLessThan", 0, 1, True),
        ("NumericLessThan", 1, 1, False),
        ("NumericLessThan", 0.5, 1, True),
        ("NumericLessThan", 1, 1.5, True),
        ("NumericGreaterThan", 1, 0, True),
        ("NumericGreaterThan", 0.0, 0, False),
        ("NumericGreaterThan", 1.0000001, 1, True),
        ("NumericLessThanEquals", 1, 1, True),
        ("NumericLessThanEquals", 1, 0, False),
        ("NumericLessThanEquals", 1.0, 1, True),
        ("NumericGreaterThanEquals", 0, 0.0, True),
        ("NumericGreaterThanEquals", 0, 1, False),
        ("NumericGreaterThanEquals", -1e300, -1e301, True),
    ],
)
def test_numeric_comparisons_and_their_path_variants(
    operator: str, value: float, operand: float, expected: bool
) -> None:
    assert var(operator, operand, value) is expected
    assert var_path(operator, value, operand) is expected


@pytest.mark.parametrize(
    "operator",
    [
        "NumericEquals",
        "NumericLessThan",
        "NumericGreaterThan",
        "NumericLessThanEquals",
        "NumericGreaterThanEquals",
    ],
)
@pytest.mark.parametrize("value", [None, "", "0", "1", [], [1], {}, {"A": 0}, True, False])
def test_numeric_operators_are_false_for_non_numbers(operator: str, value: Any) -> None:
    # Booleans are not numbers, and a numeric string is still a string.
    for operand in (0, 1):
        assert var(operator, operand, value) is False
        assert var_path(operator, value, operand) is False
        assert var_path(operator, operand, value) is False


# ---------------------------------------------------------------------- booleans


@pytest.mark.parametrize(
    ("value", "operand", "expected"),
    [(True, True, True), (False, False, True), (True, False, False), (False, True, False)],
)
def test_boolean_equals_and_its_path_variant(value: bool, operand: bool, expected: bool) -> None:
    assert var("BooleanEquals", operand, value) is expected
    assert var_path("BooleanEquals", value, operand) is expected


@pytest.mark.parametrize("value", [None, 0, 0.0, 1, 1.1, "", "true", [], [True], {}, {"A": 0}])
def test_boolean_equals_is_false_for_non_booleans(value: Any) -> None:
    for operand in (True, False):
        assert var("BooleanEquals", operand, value) is False
        assert var_path("BooleanEquals", value, operand) is False
        assert var_path("BooleanEquals", operand, value) is False


# -------------------------------------------------------------------- timestamps

T0 = "2012-10-09T19:00:55Z"
T1 = "2012-10-09T19:00:56Z"


@pytest.mark.parametrize(
    ("operator", "value", "operand", "expected"),
    [
        ("TimestampEquals", T0, T0, True),
        ("TimestampEquals", T0, T1, False),
        ("TimestampEquals", T1, T0, False),
        ("TimestampLessThan", T0, T0, False),
        ("TimestampLessThan", T0, T1, True),
        ("TimestampLessThan", T1, T0, False),
        ("TimestampGreaterThan", T0, T0, False),
        ("TimestampGreaterThan", T0, T1, False),
        ("TimestampGreaterThan", T1, T0, True),
        ("TimestampLessThanEquals", T0, T0, True),
        ("TimestampLessThanEquals", T0, T1, True),
        ("TimestampLessThanEquals", T1, T0, False),
        ("TimestampGreaterThanEquals", T0, T0, True),
        ("TimestampGreaterThanEquals", T0, T1, False),
        ("TimestampGreaterThanEquals", T1, T0, True),
        # Offsets compare as instants.
        ("TimestampEquals", "2012-10-09T20:00:55+01:00", T0, True),
        ("TimestampEquals", "2012-10-09T14:30:55-04:30", T0, True),
        ("TimestampEquals", "2012-10-09T19:00:55+00:00", T0, True),
        ("TimestampEquals", "2012-10-09T19:00:55-00:00", T0, True),
        ("TimestampLessThan", "2012-10-09T20:00:55+01:01", T0, True),
        ("TimestampEquals", "2012-10-10T00:00:55+05:00", T0, True),
        # Fractional seconds, down to nanoseconds.
        ("TimestampEquals", "2012-10-09T19:00:55.000Z", T0, True),
        ("TimestampEquals", "2012-10-09T19:00:55.5Z", "2012-10-09T19:00:55.500000000Z", True),
        ("TimestampGreaterThan", "2012-10-09T19:00:55.000000001Z", T0, True),
        ("TimestampLessThan", "2012-10-09T19:00:55.999999999Z", T1, True),
        ("TimestampLessThan", "2012-10-09T19:00:55.123456Z", "2012-10-09T19:00:55.1234561Z", True),
        # Across days, months, leap years and the epoch.
        ("TimestampLessThan", "2016-02-29T23:59:59Z", "2016-03-01T00:00:00Z", True),
        ("TimestampLessThan", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", True),
        ("TimestampGreaterThan", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", True),
    ],
)
def test_timestamp_comparisons_and_their_path_variants(
    operator: str, value: str, operand: str, expected: bool
) -> None:
    assert var(operator, operand, value) is expected
    assert var_path(operator, value, operand) is expected


NOT_TIMESTAMPS = [
    "",
    " ",
    "HelloWorld",
    "2023-02-24",
    "2012-10-09T19:00:55",  # no zone
    "2012-10-09 19:00:55Z",  # space instead of T
    "2023-02-24 12:15:56.832957",
    "2012-10-09t19:00:55Z",  # lowercase t
    "2012-10-09T19:00:55z",  # lowercase z
    "2012-10-09T19:00Z",  # no seconds
    "2012-10-09T19:00:55.Z",  # empty fraction
    "2012-10-09T19:00:55.1234567890Z",  # finer than nanoseconds
    "2012-10-09T19:00:55+0100",  # offset without colon
    "2012-10-09T19:00:55+01",
    "2012-10-09T19:00:55+19:00",  # offset out of range
    "2012-10-09T19:00:55+01:60",
    "2012-02-30T19:00:55Z",  # no such day
    "2013-02-29T00:00:00Z",  # not a leap year
    "2012-13-09T19:00:55Z",
    "2012-00-09T19:00:55Z",
    "2012-10-09T24:00:00Z",
    "2012-10-09T19:60:00Z",
    "2012-10-09T23:59:60Z",  # leap second
    "0000-01-01T00:00:00Z",
    "12012-10-09T19:00:55Z",
    " 2012-10-09T19:00:55Z",
    "2012-10-09T19:00:55Z ",
    "2012-10-09T19:00:55Z\n",
    "\uff12\uff10\uff11\uff12-10-09T19:00:55Z",  # fullwidth digits
]


@pytest.mark.parametrize("value", NOT_TIMESTAMPS + [v for v in ANY_JSON if v not in ("", " ")])
def test_timestamp_operators_are_false_for_anything_but_a_timestamp(value: Any) -> None:
    for operator in ("TimestampEquals", "TimestampLessThan", "TimestampGreaterThanEquals"):
        assert var(operator, T0, value) is False
        assert var_path(operator, value, T0) is False
        assert var_path(operator, T0, value) is False
    assert var("IsTimestamp", True, value) is False
    assert var("IsTimestamp", False, value) is True


@pytest.mark.parametrize(
    "value",
    [
        T0,
        "2012-10-09T19:00:55+01:00",
        "2012-10-09T19:00:55-11:30",
        "2012-10-09T19:00:55.1Z",
        "2012-10-09T19:00:55.123456789+18:00",
        "2016-02-29T00:00:00Z",
        "0001-01-01T00:00:00Z",
    ],
)
def test_is_timestamp_accepts_rfc3339_with_uppercase_t_and_z_or_an_offset(value: str) -> None:
    assert var("IsTimestamp", True, value) is True
    assert var("IsTimestamp", False, value) is False


# ------------------------------------------------------------------ type checks

TYPE_OF: list[tuple[Any, str]] = [
    (None, "IsNull"),
    (0, "IsNumeric"),
    (0.0, "IsNumeric"),
    (1, "IsNumeric"),
    (1.1, "IsNumeric"),
    (-5, "IsNumeric"),
    ("", "IsString"),
    (" ", "IsString"),
    ("HelloWorld", "IsString"),
    ("2012-10-09T19:00:55", "IsString"),
    ("2023-02-24", "IsString"),
    ("null", "IsString"),
    ("1", "IsString"),
    ("true", "IsString"),
    ([], ""),
    ([""], ""),
    ({}, ""),
    ({"A": 0}, ""),
    (True, "IsBoolean"),
    (False, "IsBoolean"),
]


@pytest.mark.parametrize(("value", "its_type"), TYPE_OF)
@pytest.mark.parametrize("operator", ["IsNull", "IsNumeric", "IsString", "IsBoolean"])
def test_type_checks(value: Any, its_type: str, operator: str) -> None:
    assert var(operator, True, value) is (operator == its_type)
    assert var(operator, False, value) is (operator != its_type)


@pytest.mark.parametrize(("value", "_type"), TYPE_OF)
def test_is_present_is_true_for_any_value_including_null(value: Any, _type: str) -> None:
    assert var("IsPresent", True, value) is True
    assert var("IsPresent", False, value) is False


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("$.v", {}),
        ("$.v", {"V": 1}),
        ("$.a.b", {"a": {}}),
        ("$.a.b", {"a": "string"}),
        ("$.a.b", {"a": None}),
        ("$.a.b", {"a": [1]}),
        ("$.a[2]", {"a": [1, 2]}),
        ("$.a[0]", {"a": {"0": 1}}),
        ("$.v", "not an object"),
        ("$.v", None),
        ("$.v", [1]),
        ("$$.Execution.Missing", {}),
        ("$undefined", {}),
    ],
)
def test_is_present_is_false_for_a_path_that_selects_nothing(path: str, data: Any) -> None:
    context = {"Execution": {"Name": "run"}}
    assert holds({"Variable": path, "IsPresent": True}, data, context) is False
    assert holds({"Variable": path, "IsPresent": False}, data, context) is True


def test_is_present_sees_array_items_and_deep_values() -> None:
    data = {"a": [{"b": {"c": None}}]}
    assert holds({"Variable": "$.a[0].b.c", "IsPresent": True}, data)
    assert holds({"Variable": "$.a[-1].b", "IsPresent": True}, data)
    assert holds({"Variable": "$['a'][0]['b']", "IsPresent": True}, data)


# ---------------------------------------------------------------- missing paths


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.missing", "StringEquals": "x"},
        {"Variable": "$.missing", "NumericEquals": 1},
        {"Variable": "$.missing", "NumericGreaterThanPath": "$.num"},
        {"Variable": "$.missing", "BooleanEquals": True},
        {"Variable": "$.missing", "TimestampEquals": T0},
        {"Variable": "$.missing", "StringMatches": "*"},
        {"Variable": "$.missing", "IsNull": True},
        {"Variable": "$.missing", "IsNull": False},
        {"Variable": "$.missing", "IsString": False},
        {"Variable": "$.missing", "IsNumeric": False},
        {"Variable": "$.missing", "IsBoolean": False},
        {"Variable": "$.missing", "IsTimestamp": False},
        {"Not": {"Variable": "$.missing", "IsNull": True}},
        {
            "And": [
                {"Variable": "$.num", "IsNumeric": True},
                {"Variable": "$.missing", "IsNull": True},
            ]
        },
        {
            "Or": [
                {"Variable": "$.num", "IsString": True},
                {"Variable": "$.missing", "IsNull": True},
            ]
        },
    ],
)
def test_other_operators_on_a_missing_variable_fail_with_states_runtime(
    rule: dict[str, Any],
) -> None:
    with pytest.raises(StatesError) as raised:
        holds(rule, {"num": 1})
    assert raised.value.error == "States.Runtime"
    assert raised.value.cause == MISSING_CAUSE.format("$.missing")


@pytest.mark.parametrize(
    "operator",
    ["StringEqualsPath", "NumericEqualsPath", "BooleanEqualsPath", "TimestampLessThanPath"],
)
def test_a_missing_comparison_path_fails_with_states_runtime(operator: str) -> None:
    with pytest.raises(StatesError) as raised:
        holds({"Variable": "$.num", operator: "$.other.missing"}, {"num": 1, "other": {}})
    assert raised.value.error == "States.Runtime"
    assert raised.value.cause == MISSING_CAUSE.format("$.other.missing")


def test_the_variable_is_checked_before_the_comparison_path() -> None:
    with pytest.raises(StatesError) as raised:
        holds({"Variable": "$.a", "NumericEqualsPath": "$.b"}, {})
    assert raised.value.cause == MISSING_CAUSE.format("$.a")


def test_missing_context_and_variable_paths_fail_with_their_own_text() -> None:
    with pytest.raises(StatesError) as raised:
        holds({"Variable": "$$.Execution.Nope", "StringEquals": "x"}, {}, {"Execution": {}})
    assert raised.value.cause == MISSING_CAUSE.format("$$.Execution.Nope")
    with pytest.raises(StatesError) as raised:
        holds({"Variable": "$count", "NumericEquals": 1}, {}, None, {"other": 1})
    assert raised.value.cause == MISSING_CAUSE.format("$count")


def test_a_present_null_is_a_value_not_a_missing_path() -> None:
    assert holds({"Variable": "$.v", "StringEquals": "x"}, {"v": None}) is False
    assert holds({"Variable": "$.v", "NumericEqualsPath": "$.w"}, {"v": 1, "w": None}) is False


# ----------------------------------------------------------------------- nesting


def test_and_or_not_combine_rules() -> None:
    in_twenties = {
        "And": [
            {"Variable": "$.value", "NumericGreaterThanEquals": 20},
            {"Variable": "$.value", "NumericLessThan": 30},
        ],
        "Next": "ValueInTwenties",
    }
    assert holds(in_twenties, {"value": 22})
    assert not holds(in_twenties, {"value": 30})
    assert not holds(in_twenties, {"value": 19.99})

    not_private = {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"}
    assert holds(not_private, {"type": "Public"})
    assert not holds(not_private, {"type": "Private"})

    small_or_big = {
        "Or": [
            {"Variable": "$.n", "NumericLessThan": 0},
            {"Variable": "$.n", "NumericGreaterThan": 100},
            {"Variable": "$.n", "IsString": True},
        ],
    }
    assert [holds(small_or_big, {"n": n}) for n in (-1, 0, 50, 101, "x")] == [
        True,
        False,
        False,
        True,
        True,
    ]


def test_single_and_three_way_and() -> None:
    one = {"And": [{"Variable": "$.a", "BooleanEquals": True}]}
    assert holds(one, {"a": True})
    assert not holds(one, {"a": False})
    three = {"And": [{"Variable": f"$.{k}", "BooleanEquals": True} for k in "abc"]}
    assert holds(three, {"a": True, "b": True, "c": True})
    assert not holds(three, {"a": True, "b": True, "c": False})


def test_nesting_to_any_depth() -> None:
    rule: dict[str, Any] = {"Variable": "$.x", "NumericEquals": 1}
    for depth in range(60):
        rule = {"Not": rule} if depth % 3 == 0 else {"And" if depth % 2 else "Or": [rule]}
    # 20 Nots: an even number, so the rule means x == 1.
    assert holds(rule, {"x": 1})
    assert not holds(rule, {"x": 2})

    mixed = {
        "Or": [
            {
                "And": [
                    {"Variable": "$.kind", "StringEquals": "order"},
                    {"Not": {"Variable": "$.total", "NumericLessThan": 100}},
                    {
                        "Or": [
                            {"Variable": "$.vip", "BooleanEquals": True},
                            {"Variable": "$.coupon", "IsPresent": True},
                        ]
                    },
                ]
            },
            {"Variable": "$.force", "BooleanEquals": True},
        ]
    }
    assert holds(mixed, {"kind": "order", "total": 150, "vip": False, "coupon": "X"})
    assert not holds(mixed, {"kind": "order", "total": 150, "vip": False, "force": False})
    assert holds(mixed, {"kind": "refund", "total": 5, "vip": False, "force": True})


def test_and_and_or_stop_at_the_first_deciding_rule() -> None:
    missing = {"Variable": "$.missing", "StringEquals": "x"}
    false_rule = {"Variable": "$.n", "NumericEquals": 2}
    true_rule = {"Variable": "$.n", "NumericEquals": 1}
    assert holds({"And": [false_rule, missing]}, {"n": 1}) is False
    assert holds({"Or": [true_rule, missing]}, {"n": 1}) is True
    with pytest.raises(StatesError):
        holds({"And": [true_rule, missing]}, {"n": 1})
    with pytest.raises(StatesError):
        holds({"Or": [false_rule, missing]}, {"n": 1})


# -------------------------------------------------------- roots: $$, $var, $


def test_variables_context_and_the_whole_input_can_be_compared() -> None:
    context = {"Execution": {"Name": "run-1", "Input": {"n": 3}}}
    variables = {"limit": 3, "user": {"tier": "gold"}}
    assert holds({"Variable": "$$.Execution.Name", "StringEquals": "run-1"}, {}, context)
    assert holds(
        {"Variable": "$$.Execution.Input.n", "NumericEqualsPath": "$limit"}, {}, context, variables
    )
    assert holds({"Variable": "$user.tier", "StringEquals": "gold"}, {}, None, variables)
    assert holds(
        {"Variable": "$.n", "NumericEqualsPath": "$$.Execution.Input.n"}, {"n": 3}, context
    )
    assert holds({"Variable": "$", "IsString": True}, "just a string")
    assert holds({"Variable": "$", "NumericGreaterThan": 2}, 3)
    assert holds({"Variable": "$[1]", "StringEquals": "b"}, ["a", "b"])


def test_uses_context_reports_any_context_path_anywhere_in_the_rule() -> None:
    plain = {"Variable": "$.a", "StringEqualsPath": "$.b", "Next": "N"}
    assert compile_rule(plain).uses_context is False
    assert compile_rule({"Variable": "$var", "IsPresent": True}).uses_context is False
    assert compile_rule({"Variable": "$$.State.Name", "IsPresent": True}).uses_context
    assert compile_rule({"Variable": "$.a", "StringEqualsPath": "$$.Execution.Name"}).uses_context
    nested = {
        "Or": [
            {"Variable": "$.a", "StringEqualsPath": "$.b"},
            {"Not": {"Variable": "$$.Map.Item.Index", "NumericEquals": 0}},
        ]
    }
    assert compile_rule(nested).uses_context


def test_next_is_kept_for_top_level_rules() -> None:
    rule = compile_rule({"Variable": "$.a", "IsNull": True, "Next": "Nulls", "Comment": "c"})
    assert isinstance(rule, Rule)
    assert rule.next == "Nulls"
    assert compile_rule({"Variable": "$.a", "IsNull": True}).next is None
    with_assign = compile_rule(
        {"Variable": "$.a", "IsNull": True, "Next": "N", "Assign": {"x.$": "$.a"}}
    )
    assert with_assign.next == "N"


def test_a_rule_is_reusable_and_does_not_change_its_input() -> None:
    rule = compile_rule({"Variable": "$.items[0].n", "NumericGreaterThan": 1, "Next": "Big"})
    data = {"items": [{"n": 2}]}
    assert [rule.matches(data, None, None) for _ in range(3)] == [True, True, True]
    assert data == {"items": [{"n": 2}]}
    assert rule.matches({"items": [{"n": 0}]}, None, None) is False


# ----------------------------------------------------------------- malformed rules


@pytest.mark.parametrize(
    ("rule", "message", "location"),
    [
        ({}, "needs 'Variable' and a comparison operator", ""),
        ({"Next": "X"}, "needs 'Variable' and a comparison operator", ""),
        ({"Variable": "$.a"}, "needs a comparison operator", ""),
        ({"StringEquals": "x"}, "needs a 'Variable'", ""),
        (
            {"Variable": "$.a", "StringEquals": "x", "StringLessThan": "y"},
            "exactly one",
            "/StringLessThan",
        ),
        ({"Variable": "$.a", "StringEqual": "x"}, "unknown field 'StringEqual'", "/StringEqual"),
        (
            {"Variable": "$.a", "StringMatchesPath": "$.b"},
            "unknown field 'StringMatchesPath'",
            "/StringMatchesPath",
        ),
        (
            {"Variable": "$.a", "IsPresentPath": "$.b"},
            "unknown field 'IsPresentPath'",
            "/IsPresentPath",
        ),
        ({"Variable": 1, "IsNull": True}, "'Variable' must be a JSONPath", "/Variable"),
        ({"Variable": "a.b", "IsNull": True}, "'Variable' is not a valid JSONPath", "/Variable"),
        ({"Variable": "$.a[", "IsNull": True}, "'Variable' is not a valid JSONPath", "/Variable"),
        (
            {"Variable": "$.a", "NumericEquals": "1"},
            "'NumericEquals' must be a number",
            "/NumericEquals",
        ),
        ({"Variable": "$.a", "NumericLessThan": True}, "must be a number", "/NumericLessThan"),
        ({"Variable": "$.a", "NumericLessThan": None}, "must be a number", "/NumericLessThan"),
        (
            {"Variable": "$.a", "StringEquals": 1},
            "'StringEquals' must be a string",
            "/StringEquals",
        ),
        (
            {"Variable": "$.a", "StringMatches": None},
            "'StringMatches' must be a string",
            "/StringMatches",
        ),
        ({"Variable": "$.a", "BooleanEquals": "true"}, "must be true or false", "/BooleanEquals"),
        ({"Variable": "$.a", "BooleanEquals": 1}, "must be true or false", "/BooleanEquals"),
        ({"Variable": "$.a", "IsNull": "yes"}, "'IsNull' must be true or false", "/IsNull"),
        ({"Variable": "$.a", "IsPresent": 1}, "'IsPresent' must be true or false", "/IsPresent"),
        (
            {"Variable": "$.a", "TimestampEquals": "2012-10-09"},
            "RFC 3339 timestamp",
            "/TimestampEquals",
        ),
        ({"Variable": "$.a", "TimestampLessThan": 1}, "RFC 3339 timestamp", "/TimestampLessThan"),
        ({"Variable": "$.a", "NumericEqualsPath": 3}, "must be a JSONPath", "/NumericEqualsPath"),
        ({"Variable": "$.a", "StringEqualsPath": "b"}, "not a valid JSONPath", "/StringEqualsPath"),
        (
            {"Variable": "$.a", "IsNull": True, "Next": ""},
            "'Next' must be a non-empty string",
            "/Next",
        ),
        (
            {"Variable": "$.a", "IsNull": True, "Next": None},
            "'Next' must be a non-empty string",
            "/Next",
        ),
        (
            {"Variable": "$.a", "IsNull": True, "Next": 3},
            "'Next' must be a non-empty string",
            "/Next",
        ),
        (
            {"Variable": "$.a", "IsNull": True, "Comment": 3},
            "'Comment' must be a string",
            "/Comment",
        ),
        (
            {"Condition": "{% true %}", "Next": "X"},
            "only valid when the query language is JSONata",
            "/Condition",
        ),
        ({"And": []}, "'And' must be a non-empty array", "/And"),
        ({"Or": {"Variable": "$.a", "IsNull": True}}, "'Or' must be a non-empty array", "/Or"),
        ({"Not": []}, "must be a JSON object", "/Not"),
        ({"Not": {}}, "needs 'Variable' and a comparison operator", "/Not"),
        ({"And": [{"Variable": "$.a", "IsNull": True}, "rule"]}, "must be a JSON object", "/And/1"),
        (
            {
                "And": [{"Variable": "$.a", "IsNull": True}],
                "Or": [{"Variable": "$.a", "IsNull": True}],
            },
            "must not also have 'Or'",
            "/Or",
        ),
        (
            {"Not": {"Variable": "$.a", "IsNull": True}, "Variable": "$.a"},
            "must not also have 'Variable'",
            "/Variable",
        ),
        (
            {"And": [{"Variable": "$.a", "IsNull": True}], "IsNull": True},
            "must not also have 'IsNull'",
            "/IsNull",
        ),
        (
            {"Not": {"Variable": "$.a", "IsNull": True, "Next": "X"}},
            "'Next' is only allowed in a top-level Choice rule",
            "/Not/Next",
        ),
        (
            {
                "Or": [
                    {"Variable": "$.a", "IsNull": True},
                    {"Variable": "$.b", "IsNull": True, "Assign": {}},
                ]
            },
            "'Assign' is only allowed in a top-level Choice rule",
            "/Or/1/Assign",
        ),
        (
            {"And": [{"Not": {"Or": [{"Variable": "$.a", "NumericEquals": "x"}]}}]},
            "'NumericEquals' must be a number",
            "/And/0/Not/Or/0/NumericEquals",
        ),
    ],
)
def test_malformed_rules_are_refused_with_what_and_where(
    rule: dict[str, Any], message: str, location: str
) -> None:
    with pytest.raises(ChoiceRuleError) as raised:
        compile_rule(rule)
    assert message in raised.value.message
    assert raised.value.location == location
    assert isinstance(raised.value, ValueError)


def test_a_rule_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ChoiceRuleError, match="must be a JSON object"):
        compile_rule(["Variable", "$.a"])  # type: ignore[arg-type]
