"""Intrinsic functions behave as AWS Step Functions evaluates them (JSONPath states)."""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

import pytest

from workflows.engine.errors import StatesError
from workflows.engine.intrinsics import (
    Intrinsic,
    IntrinsicSyntaxError,
    compile_intrinsic,
    is_intrinsic,
)


def ev(
    text: str,
    data: Any = None,
    context: Any = None,
    variables: dict[str, Any] | None = None,
) -> Any:
    return compile_intrinsic(text).evaluate({} if data is None else data, context, variables)


def failure(text: str, data: Any = None, context: Any = None) -> StatesError:
    with pytest.raises(StatesError) as caught:
        ev(text, data, context)
    return caught.value


def invalid_arguments(text: str, function: str) -> str:
    return f"The function '{text}' had the following error: Invalid arguments in {function}"


# ----------------------------------------------------------------------------- recognition


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('x')", True),
        ("States.UUID()", True),
        ("$.a", False),
        ("$$.Execution.Id", False),
        ("plain text", False),
    ],
)
def test_is_intrinsic_recognises_states_calls(text: str, expected: bool) -> None:
    assert is_intrinsic(text) is expected


def test_compiling_the_same_text_twice_returns_the_same_compiled_call() -> None:
    first = compile_intrinsic("States.Array($.a)")
    assert isinstance(first, Intrinsic)
    assert compile_intrinsic("States.Array($.a)") is first


# ----------------------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("States.Nope(1)", "unknown function 'States.Nope'"),
        ("States.format('x')", "unknown function 'States.format'"),
        ("States.MathAdd(1)", "'States.MathAdd' takes 2 arguments but was given 1"),
        ("States.MathAdd(1, 2, 3)", "'States.MathAdd' takes 2 arguments but was given 3"),
        ("States.UUID(1)", "'States.UUID' takes 0 arguments but was given 1"),
        ("States.MathRandom(1)", "'States.MathRandom' takes 2 to 3 arguments"),
        ("States.Format()", "'States.Format' takes at least 1 argument but was given 0"),
        ("States.ArrayLength()", "'States.ArrayLength' takes 1 argument but was given 0"),
        ("States.Array(1", "missing ')'"),
        ("States.Array(1 2)", "expected ',' or ')' in the arguments of 'States.Array'"),
        ("States.Array(1) extra", "unexpected text after the function call"),
        ("States.Array(1,)", "unexpected ')'"),
        ("States.Array(, 1)", "unexpected ','"),
        ("States.Array('abc)", "unterminated string literal"),
        ('States.Array("abc")', "unexpected '\"'"),
        ("States.Array(abc)", "unexpected 'abc'"),
        ("States.Array(1.)", "unexpected '.'"),
        ("States.Array(.5)", "unexpected '.'"),
        ("States.Array(01)", "unexpected '1'"),
        ("States.Array($.a[)", "Invalid JSONPath"),
        ("States.Array", "expected '(' after 'States.Array'"),
        ("States.Array([1,2])", "unexpected '['"),
    ],
)
def test_malformed_calls_are_rejected_when_compiled(text: str, fragment: str) -> None:
    with pytest.raises(IntrinsicSyntaxError) as caught:
        compile_intrinsic(text)
    assert fragment in str(caught.value)
    assert re.search(r"at position \d+$", str(caught.value))


def test_syntax_error_names_the_position_of_the_problem() -> None:
    with pytest.raises(IntrinsicSyntaxError) as caught:
        compile_intrinsic("States.Format('{}', States.MathAdd(1))")
    assert caught.value.position == 20
    assert caught.value.text == "States.Format('{}', States.MathAdd(1))"


@pytest.mark.parametrize("escape", ["\\n", "\\t", "\\u0041", '\\"', "\\"])
def test_a_backslash_that_escapes_nothing_reserved_is_a_syntax_error(escape: str) -> None:
    with pytest.raises(IntrinsicSyntaxError, match="invalid escape"):
        compile_intrinsic(f"States.Format('a{escape}b')")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("States.Format('{} {}', 1)", "2 '{}' placeholder(s) but 1 value(s)"),
        ("States.Format('{}', 1, 2)", "1 '{}' placeholder(s) but 2 value(s)"),
        ("States.Format('Hello {', 1)", "neither '{}' nor escaped"),
        ("States.Format('Hello {{}}', 1)", "neither '{}' nor escaped"),
        ("States.Format('}')", "neither '{}' nor escaped"),
        ("States.Format(1)", "must be a string"),
    ],
)
def test_a_literal_format_template_that_cannot_match_is_rejected(text: str, fragment: str) -> None:
    with pytest.raises(IntrinsicSyntaxError) as caught:
        compile_intrinsic(text)
    assert fragment in str(caught.value)


# ----------------------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Array('it\\'s')", ["it's"]),
        ("States.Array('\\{\\}')", ["{}"]),
        ("States.Array('back\\\\slash')", ["back\\slash"]),
        ("States.Array('a,b)c')", ["a,b)c"]),
        ("States.Array('{unescaped}')", ["{unescaped}"]),
        ("States.Array('line\nbreak')", ["line\nbreak"]),
        ("States.Array('')", [""]),
        ("States.Array(0, 42, -7)", [0, 42, -7]),
        ("States.Array(1.5, -0.25, 1e3, 2E-2)", [1.5, -0.25, 1000.0, 0.02]),
        ("States.Array(true, false, null)", [True, False, None]),
        ("States.Array( 1 ,\t2 )", [1, 2]),
        ("States.Array()", []),
    ],
)
def test_literals(text: str, expected: list[Any]) -> None:
    result = ev(text)
    assert result == expected
    assert [type(v) for v in result] == [type(v) for v in expected]


def test_numbers_keep_their_type() -> None:
    assert type(ev("States.MathAdd(1, 2)")) is int
    assert type(ev("States.Array(1)")[0]) is int
    assert type(ev("States.Array(1.0)")[0]) is float


# ----------------------------------------------------------------------------- paths


def test_path_arguments_read_the_input_the_context_and_variables() -> None:
    text = "States.Array($, $.a, $$.Execution.Name, $$, $count, $cfg.limit)"
    data = {"a": 1}
    context = {"Execution": {"Name": "run-1"}}
    variables = {"count": 3, "cfg": {"limit": 10}}
    assert ev(text, data, context, variables) == [data, 1, "run-1", context, 3, 10]


def test_uses_context_is_true_only_when_a_path_reads_the_context_object() -> None:
    assert compile_intrinsic("States.Format('{}', $$.Execution.Id)").uses_context
    assert compile_intrinsic("States.Array(States.Array($$))").uses_context
    assert not compile_intrinsic("States.Format('{} {}', $.a, $var)").uses_context
    assert not compile_intrinsic("States.Format('$$ in text {}', 1)").uses_context


@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        ("$.items[1]", {"items": ["a", "b"]}, "b"),
        ("$['odd key']", {"odd key": 5}, 5),
        ("$.items[*].id", {"items": [{"id": 1}, {"id": 2}]}, [1, 2]),
        ("$.items[?(@.n > 1)].n", {"items": [{"n": 1}, {"n": 2}]}, [2]),
        ("$.items.length()", {"items": [1, 2, 3]}, 3),
        ("$.items[0,1]", {"items": [7, 8, 9]}, [7, 8]),
    ],
)
def test_jsonpath_forms_inside_arguments(path: str, data: Any, expected: Any) -> None:
    assert ev(f"States.Array({path}, 'end')", data) == [expected, "end"]


def test_a_missing_path_fails_with_the_aws_cause() -> None:
    error = failure("States.Format('{}', $.nope)", {"other": 1})
    assert error.error == "States.Runtime"
    assert error.cause == (
        "The function 'States.Format('{}', $.nope)' had the following error: "
        "The JsonPath argument for the field '$.nope' could not be found in the input "
        "'{\"other\":1}'"
    )


def test_a_missing_path_in_a_nested_call_names_the_whole_expression() -> None:
    text = "States.Format('{}', States.Format('{}', $.a.b))"
    error = failure(text, {"a": {}})
    assert error.cause == (
        f"The function '{text}' had the following error: The JsonPath argument for the "
        "field '$.a.b' could not be found in the input '{\"a\":{}}'"
    )


def test_an_index_past_the_end_is_a_missing_path() -> None:
    error = failure("States.Array($.items[5])", {"items": [1, 2]})
    assert "The JsonPath argument for the field '$.items[5]' could not be found" in (
        error.cause or ""
    )


def test_a_missing_context_path_is_named_as_aws_names_it() -> None:
    error = failure("States.Array($$.Nope.Deep)", {"x": 1}, {"State": {}})
    assert error.cause == (
        "The function 'States.Array($$.Nope.Deep)' had the following error: The JsonPath "
        "argument for the field '$.Nope.Deep' could not be found in the input '{\"x\":1}'"
    )


def test_an_undefined_variable_is_a_missing_path() -> None:
    error = failure("States.Array($missing)")
    assert "The JsonPath argument for the field '$missing' could not be found" in (
        error.cause or ""
    )


def test_a_null_value_is_present_not_missing() -> None:
    assert ev("States.Format('{}', $.n)", {"n": None}) == "null"


# ----------------------------------------------------------------------------- States.Format


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("text", "text"),
        ("", ""),
        (None, "null"),
        (True, "true"),
        (1, "1"),
        (-3, "-3"),
        (1.1, "1.1"),
        (100.0, "100.0"),
        (1e20, "1.0E20"),
        (1.5e-5, "1.5E-5"),
        ({"Arg1": 1, "Arg2": []}, "{Arg1=1, Arg2=[]}"),
        (["a", {"k": "v"}, [None, 2.5]], "[a, {k=v}, [null, 2.5]]"),
    ],
)
def test_format_prints_values_as_aws_does(value: Any, printed: str) -> None:
    assert ev("States.Format('<{}>', $.v)", {"v": value}) == f"<{printed}>"


def test_format_replaces_placeholders_in_order() -> None:
    text = "States.Format('fst={} and snd={}.', $.a, States.MathAdd($.b, 1))"
    assert ev(text, {"a": "x", "b": 1}) == "fst=x and snd=2."


def test_format_template_escapes() -> None:
    assert ev("States.Format('This value is \\{{}\\}', 'Foo')") == "This value is {Foo}"
    assert ev("States.Format('\\'{}\\' \\\\', 1)") == "'1' \\"
    assert ev("States.Format('no placeholders')") == "no placeholders"


def test_format_template_from_a_path() -> None:
    data = {"t": "Hello, my name is {}.", "name": "Arnav"}
    assert ev("States.Format($.t, $.name)", data) == "Hello, my name is Arnav."
    assert ev("States.Format($.t, 'x')", {"t": "\\{{}\\}"}) == "{x}"


@pytest.mark.parametrize(
    ("template", "values"),
    [("{} {}", "$.a"), ("{}", "$.a, $.a"), ("Hello {", "$.a"), (123, "$.a")],
)
def test_format_with_a_runtime_template_that_does_not_fit_fails(template: Any, values: str) -> None:
    text = f"States.Format($.t, {values})"
    error = failure(text, {"t": template, "a": "x"})
    assert error.error == "States.Runtime"
    assert error.cause == invalid_arguments(text, "States.Format")


# ----------------------------------------------------------------------------- JSON


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"Arg1": 1, "Arg2": []}', {"Arg1": 1, "Arg2": []}),
        ('[1, 2, "HelloWorld"]', [1, 2, "HelloWorld"]),
        ('"HelloWorld"', "HelloWorld"),
        ("1", 1),
        ("1.1", 1.1),
        ("-0", 0),
        ("true", True),
        ("null", None),
        ("", None),
        ("   ", None),
    ],
)
def test_string_to_json(text: str, expected: Any) -> None:
    result = ev("States.StringToJson($.s)", {"s": text})
    assert result == expected
    assert type(result) is type(expected)


def test_string_to_json_on_a_literal_with_json_inside() -> None:
    text = 'States.StringToJson(\'{"constant_in_literal": "false"}\')'
    assert ev(text) == {"constant_in_literal": "false"}


@pytest.mark.parametrize("value", ["{not json", "[1,", "NaN", "1 2", 5, {"a": 1}, None])
def test_string_to_json_rejects_what_is_not_a_json_text(value: Any) -> None:
    text = "States.StringToJson($.s)"
    assert failure(text, {"s": value}).cause == invalid_arguments(text, "States.StringToJson")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (0, "0"),
        (1.1, "1.1"),
        (1e20, "1.0E20"),
        (True, "true"),
        ("HelloWorld", '"HelloWorld"'),
        ([1, 2, "HelloWorld"], '[1,2,"HelloWorld"]'),
        ({"Arg1": 1, "Arg2": []}, '{"Arg1":1,"Arg2":[]}'),
        ({"é": 'ü\n\t"\\/'}, '{"é":"ü\\n\\t\\"\\\\/"}'),
        ("\u0001", '"\\u0001"'),
    ],
)
def test_json_to_string_writes_compact_json(value: Any, expected: str) -> None:
    assert ev("States.JsonToString($.v)", {"v": value}) == expected


def test_json_merge_is_shallow_and_the_second_object_wins() -> None:
    data = {
        "a": {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3},
        "b": {"a": {"a3": 1, "a4": 2}, "c": 3, "d": 4},
    }
    result = ev("States.JsonMerge($.a, $.b, false)", data)
    assert result == {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3, "d": 4}
    assert data["a"] == {"a": {"a1": 1, "a2": 2}, "b": 2, "d": 3}  # inputs are untouched


@pytest.mark.parametrize(
    "args",
    ["$.a, $.b, true", "$.a, $.b, 'false'", "$.list, $.b, false", "$.a, $.n, false"],
)
def test_json_merge_argument_checks(args: str) -> None:
    text = f"States.JsonMerge({args})"
    data = {"a": {"x": 1}, "b": {"y": 2}, "list": [1], "n": 3}
    assert failure(text, data).cause == invalid_arguments(text, "States.JsonMerge")


# ----------------------------------------------------------------------------- arrays


def test_array_keeps_values_as_they_are() -> None:
    data = {"o": {"Arg1": 1, "Arg2": []}, "s": '{"a": 1}'}
    assert ev("States.Array($.o, $.s, States.Array(2))", data) == [
        {"Arg1": 1, "Arg2": []},
        '{"a": 1}',
        [2],
    ]


def test_a_call_on_literals_gives_a_fresh_container_each_time() -> None:
    compiled = compile_intrinsic("States.Array(1, 2)")
    first = compiled.evaluate({}, None, None)
    assert first == [1, 2]
    assert compiled.evaluate({}, None, None) is not first


@pytest.mark.parametrize(
    ("items", "size", "expected"),
    [
        ([], 1, []),
        ([0], 5, [[0]]),
        ([0, 1, 2], 2, [[0, 1], [2]]),
        ([0, 1, 2, 3], 2, [[0, 1], [2, 3]]),
        ([1, 2, 3, 4, 5], 2.9, [[1, 2], [3, 4], [5]]),
        ([1, 2, 3], 2147483647, [[1, 2, 3]]),
    ],
)
def test_array_partition(items: list[Any], size: Any, expected: list[Any]) -> None:
    assert ev("States.ArrayPartition($.a, $.n)", {"a": items, "n": size}) == expected


@pytest.mark.parametrize("size", [0, -1, 0.6, "2", None, True])
def test_array_partition_needs_a_positive_chunk_size(size: Any) -> None:
    text = "States.ArrayPartition($.a, $.n)"
    error = failure(text, {"a": [1, 2], "n": size})
    assert error.cause == invalid_arguments(text, "States.ArrayPartition")


def test_array_partition_needs_an_array() -> None:
    text = "States.ArrayPartition('abc', 2)"
    assert failure(text).cause == invalid_arguments(text, "States.ArrayPartition")


@pytest.mark.parametrize(
    ("items", "value", "expected"),
    [
        ([], None, False),
        ([], [], False),
        ([[1, 2, 3], 2], None, False),
        ([[1, 2, 3], 2], [1, 2, 3], True),
        ([{"1": 2, "2": []}], {"1": 2, "2": []}, True),
        ([{"1": 2, "2": []}], [], False),
        ([True, False], False, True),
        ([1, None, 3], None, True),
        ([0, 1, -1], False, False),
        ([{"a": 1}], {"a": 1, "extra": None}, False),
        # AWS compares printed forms: the same text matches across types, key order matters
        (["1", "2"], 1, True),
        (["true"], True, True),
        ([{"a": 1, "b": 2}], {"b": 2, "a": 1}, False),
        ([1.0], 1, False),
    ],
)
def test_array_contains(items: list[Any], value: Any, expected: bool) -> None:
    assert ev("States.ArrayContains($.a, $.v)", {"a": items, "v": value}) is expected


def test_array_contains_needs_an_array() -> None:
    text = "States.ArrayContains($.s, 1)"
    assert failure(text, {"s": "1"}).cause == invalid_arguments(text, "States.ArrayContains")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("0, 9, 3", [0, 3, 6, 9]),
        ("0, 10, 3", [0, 3, 6, 9]),
        ("1, 9, 9", [1]),
        ("1, 9, 2", [1, 3, 5, 7, 9]),
        ("-2, 2, 2", [-2, 0, 2]),
        ("5, 1, -2", [5, 3, 1]),
        ("3, 3, -1", [3]),
        ("5, 1, 1", []),
        ("1, 5, -1", []),
        ("1.6, 1.4, 1", [1]),
        ("5.4, -0.6, -2.4", [5, 3, 1]),
    ],
)
def test_array_range_includes_the_end_and_truncates(args: str, expected: list[int]) -> None:
    assert ev(f"States.ArrayRange({args})") == expected


def test_array_range_allows_exactly_one_thousand_items() -> None:
    assert len(ev("States.ArrayRange(1, 1000, 1)")) == 1000
    assert len(ev("States.ArrayRange(1000, 1, -1)")) == 1000


@pytest.mark.parametrize(
    "args", ["1, 1001, 1", "1001, 1, -1", "1, 10, 0", "1, 10, 0.49", "'a', 5, 1", "1, 5, null"]
)
def test_array_range_argument_checks(args: str) -> None:
    text = f"States.ArrayRange({args})"
    assert failure(text).cause == invalid_arguments(text, "States.ArrayRange")


@pytest.mark.parametrize(
    ("items", "index", "expected"),
    [
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], 5, 6),
        ([{"a": 1}, {"b": 2}], 1, {"b": 2}),
        ([None], 0, None),
        ([10, 20, 30], 1.2, 20),
        ([], 999, None),  # AWS answers null for an empty array
    ],
)
def test_array_get_item(items: list[Any], index: Any, expected: Any) -> None:
    assert ev("States.ArrayGetItem($.a, $.i)", {"a": items, "i": index}) == expected


@pytest.mark.parametrize(
    ("items", "index"), [([10, 20, 30], 3), ([10, 20, 30], -1), ([1], "0"), ("abc", 0)]
)
def test_array_get_item_argument_checks(items: Any, index: Any) -> None:
    text = "States.ArrayGetItem($.a, $.i)"
    error = failure(text, {"a": items, "i": index})
    assert error.cause == invalid_arguments(text, "States.ArrayGetItem")


def test_array_length() -> None:
    assert ev("States.ArrayLength($)", [1, 2, 3, 4, 5, 6, 7, 8, 9]) == 9
    assert ev("States.ArrayLength(States.Array())") == 0
    text = "States.ArrayLength($.o)"
    assert failure(text, {"o": {"k": 1}}).cause == invalid_arguments(text, "States.ArrayLength")


def test_array_unique_keeps_the_first_of_each_value() -> None:
    items = [1, 2, 3, 3, 3, 4, 1.0, True, "1", None, None, [1], [1], {"a": 1, "b": 2}]
    items.append({"b": 2, "a": 1})
    assert ev("States.ArrayUnique($)", items) == [
        1,
        2,
        3,
        4,
        1.0,
        True,
        "1",
        None,
        [1],
        {"a": 1, "b": 2},
    ]
    text = "States.ArrayUnique('x')"
    assert failure(text).cause == invalid_arguments(text, "States.ArrayUnique")


# ----------------------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    ("plain", "encoded"),
    [
        ("", ""),
        ("Data to encode", "RGF0YSB0byBlbmNvZGU="),
        ("✓", "4pyT"),
        ("🚀", "8J+agA=="),
        ("abc\u0000def", "YWJjAGRlZg=="),
    ],
)
def test_base64_round_trip(plain: str, encoded: str) -> None:
    assert ev("States.Base64Encode($.s)", {"s": plain}) == encoded
    assert ev("States.Base64Decode($.s)", {"s": encoded}) == plain


@pytest.mark.parametrize(
    ("encoded", "plain"),
    [("YWJj", "abc"), ("YWJjZA", "abcd"), (" YWJjZA== ", "abcd"), ("YW Jj\nZA==", "abcd")],
)
def test_base64_decode_is_lenient_like_aws(encoded: str, plain: str) -> None:
    assert ev("States.Base64Decode($.s)", {"s": encoded}) == plain


@pytest.mark.parametrize("function", ["States.Base64Encode", "States.Base64Decode"])
def test_base64_input_is_limited_to_ten_thousand_characters(function: str) -> None:
    text = f"{function}($.s)"
    assert isinstance(ev(text, {"s": "A" * 10_000}), str)
    assert failure(text, {"s": "A" * 10_001}).cause == invalid_arguments(text, function)
    assert failure(text, {"s": 123}).cause == invalid_arguments(text, function)


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("SHA-256", "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"),
        (
            "SHA-384",
            "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b"
            "87525bdc835ebb27e1fb9e9374a15562",
        ),
        (
            "SHA-512",
            "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce"
            "2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
        ),
    ],
)
def test_hash(algorithm: str, digest: str) -> None:
    assert ev("States.Hash($.d, $.a)", {"d": "input data", "a": algorithm}) == digest


def test_hash_of_a_non_string_hashes_its_printed_form() -> None:
    assert ev("States.Hash(123, 'MD5')") == hashlib.md5(b"123").hexdigest()


@pytest.mark.parametrize("algorithm", ["sha-256", "SHA256", "MD-5", "", 256])
def test_hash_rejects_unsupported_algorithms(algorithm: Any) -> None:
    text = "States.Hash('data', $.a)"
    assert failure(text, {"a": algorithm}).cause == invalid_arguments(text, "States.Hash")


def test_hash_input_is_limited_to_ten_thousand_characters() -> None:
    text = "States.Hash($.s, 'SHA-256')"
    assert len(ev(text, {"s": "a" * 10_000})) == 64
    assert failure(text, {"s": "a" * 10_001}).cause == invalid_arguments(text, "States.Hash")


# ----------------------------------------------------------------------------- math


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (-9, 3, -6),
        (1.49, 1.5, 3),
        (1.5, 1.51, 4),
        (-1.49, -1.5, -2),
        (-1.5, -1.51, -3),
        (0.5, 0, 1),
        (-0.5, 0, 0),
        (2.5, 0, 3),
        (-2.5, 0, -2),
        (2147483646, 1, 2147483647),
        (-2147483647, -1, -2147483648),
    ],
)
def test_math_add_rounds_each_operand_half_up(a: Any, b: Any, expected: int) -> None:
    result = ev("States.MathAdd($.a, $.b)", {"a": a, "b": b})
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    ("a", "b"),
    [(2147483647, 1), (-2147483648, -1), (3000000000, 1), ("1", 2), (None, 1), (True, 1), ([], 1)],
)
def test_math_add_argument_checks(a: Any, b: Any) -> None:
    text = "States.MathAdd($.a, $.b)"
    assert failure(text, {"a": a, "b": b}).cause == invalid_arguments(text, "States.MathAdd")


def test_math_add_on_literals_that_do_not_fit_fails_when_evaluated() -> None:
    compiled = compile_intrinsic("States.MathAdd('a', 1)")
    with pytest.raises(StatesError, match=r"Invalid arguments in States\.MathAdd"):
        compiled.evaluate({}, None, None)


def test_math_random_is_an_integer_from_start_up_to_end() -> None:
    values = {ev("States.MathRandom(1, 4)") for _ in range(200)}
    assert values == {1, 2, 3}
    assert {ev("States.MathRandom(12.5, 13.9)") for _ in range(20)} == {12}


def test_math_random_with_a_seed_is_deterministic() -> None:
    text = "States.MathRandom($.s, $.e, $.seed)"
    data = {"s": 0, "e": 999, "seed": 3}
    expected = random.Random(3).randrange(0, 999)
    assert ev(text, data) == expected
    assert ev(text, data) == expected


@pytest.mark.parametrize("args", ["1, 1", "10, 5", "1.4, 1.6", "'a', 10", "1, 10, 'seed'"])
def test_math_random_argument_checks(args: str) -> None:
    text = f"States.MathRandom({args})"
    assert failure(text).cause == invalid_arguments(text, "States.MathRandom")


def test_math_random_seed_must_not_be_null() -> None:
    text = "States.MathRandom(1, 10, null)"
    assert failure(text).cause == invalid_arguments(text, "States.MathRandom")


# ----------------------------------------------------------------------------- strings


@pytest.mark.parametrize(
    ("text", "delimiters", "expected"),
    [
        (" ", ",", [" "]),
        (" , ", ",", [" ", " "]),
        (", , ,", ",", [" ", " "]),
        (",,,,", ",", []),
        ("1,2,3,4,5", ",", ["1", "2", "3", "4", "5"]),
        ("This.is+a,test=string", ".+,=", ["This", "is", "a", "test", "string"]),
        ("split on T and \nnew line", "T\n", ["split on ", " and ", "new line"]),
        ("a😀b😀c", "😀", ["a", "b", "c"]),
        ("", ",", []),
        ("abc", "", ["abc"]),
    ],
)
def test_string_split(text: str, delimiters: str, expected: list[str]) -> None:
    assert ev("States.StringSplit($.t, $.d)", {"t": text, "d": delimiters}) == expected


def test_string_split_on_a_literal_with_a_real_newline() -> None:
    assert ev("States.StringSplit('Hello\nWorld', '\n')") == ["Hello", "World"]


@pytest.mark.parametrize(("value", "delimiter"), [(7, ","), ("a,b", 1), (None, ",")])
def test_string_split_needs_strings(value: Any, delimiter: Any) -> None:
    text = "States.StringSplit($.t, $.d)"
    error = failure(text, {"t": value, "d": delimiter})
    assert error.cause == invalid_arguments(text, "States.StringSplit")


def test_uuid_is_a_fresh_version_4_uuid() -> None:
    first, second = ev("States.UUID()"), ev("States.UUID()")
    pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(pattern, first)
    assert first != second


# ----------------------------------------------------------------------------- nesting


def test_nested_calls() -> None:
    context = {"StateMachine": {"Name": "orders-flow-v2"}}
    split = "States.StringSplit($$.StateMachine.Name, '-')"
    last = f"States.ArrayGetItem({split}, States.MathAdd(States.ArrayLength({split}), -1))"
    assert ev(last, {}, context) == "v2"
    assert ev(f"States.ArrayGetItem({split}, 0)", {}, context) == "orders"


def test_deeply_nested_documented_example() -> None:
    arn = "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my.recipe.name/1.0.0"
    text = (
        "States.Format('{}.{}.{}', "
        "States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
        "States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), "
        "States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
        "States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1), 'x')"
    )
    assert ev(text, {"ImageRecipe": {"Arn": arn}}) == "1.0.x"


def test_an_invalid_inner_call_names_the_whole_expression() -> None:
    text = "States.Format('{}', States.ArrayLength($.s))"
    assert failure(text, {"s": "x"}).cause == invalid_arguments(text, "States.ArrayLength")
