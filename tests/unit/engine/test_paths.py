"""The JSONPath compiler (workflows/engine/paths.py), against Jayway's behaviour.

Step Functions evaluates JSONPath with Jayway JsonPath: a definite path (names and
indexes only) yields one value or fails; an indefinite path (wildcard, slice,
union, deep scan, filter) yields a list of what matched, possibly empty.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from workflows.engine.paths import (
    MISSING,
    PathNotFound,
    PathSyntaxError,
    ResultPathError,
    compile_path,
    compile_reference_path,
    resolve,
    set_path,
)

STORE: dict[str, Any] = {
    "store": {
        "book": [
            {"title": "Sayings", "category": "reference", "price": 8.95, "isbn": "0-1"},
            {"title": "Sword", "category": "fiction", "price": 12.99},
            {"title": "Moby Dick", "category": "fiction", "price": 8.99, "isbn": "0-5"},
            {"title": "The Lord", "category": "fiction", "price": 22.99, "isbn": "0-3"},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "expensive": 10,
    "allowed": ["Sword", "The Lord"],
}


def get(path: str, document: Any = STORE) -> Any:
    return compile_path(path).get(document)


# --------------------------------------------------------------------- definite


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", STORE),
        ("$.expensive", 10),
        ("$.store.bicycle.color", "red"),
        ("$.store.book[0].title", "Sayings"),
        ("$.store.book[-1].title", "The Lord"),
        ("$['store']['bicycle']['price']", 19.95),
        ('$["store"].bicycle["color"]', "red"),
        ("$.store.book[2]['isbn']", "0-5"),
    ],
)
def test_a_definite_path_yields_one_value(path: str, expected: Any) -> None:
    compiled = compile_path(path)
    assert compiled.definite
    assert compiled.get(STORE) == expected


def test_names_may_contain_dashes_spaces_and_dots_in_brackets() -> None:
    document = {"my-name": {"with-dash": 1}, "a b": {"c.d": 2}, "x_y": {"9z": 3}}
    assert get("$.my-name.with-dash", document) == 1
    assert get("$['a b']['c.d']", document) == 2
    assert get("$.x_y.9z", document) == 3


@pytest.mark.parametrize(
    "path", ["$.missing", "$.store.book[10]", "$.store.bicycle.color.shade", "$.expensive[0]"]
)
def test_a_definite_path_to_nothing_raises_path_not_found(path: str) -> None:
    with pytest.raises(PathNotFound) as raised:
        get(path)
    assert raised.value.path == path
    assert compile_path(path).find(STORE) is MISSING


def test_a_present_null_is_a_value_not_a_missing_one() -> None:
    assert get("$.a", {"a": None}) is None


# ------------------------------------------------------------------- indefinite


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.store.book[*].title", ["Sayings", "Sword", "Moby Dick", "The Lord"]),
        ("$.store.bicycle.*", ["red", 19.95]),
        ("$.store.book[0,2].title", ["Sayings", "Moby Dick"]),
        ("$.store.book[1:3].title", ["Sword", "Moby Dick"]),
        ("$.store.book[-2:].title", ["Moby Dick", "The Lord"]),
        ("$.store.book[:1].title", ["Sayings"]),
        ("$.store.book[::2].title", ["Sayings", "Moby Dick"]),
        ("$.store.book[10:]", []),
        ("$.store.book[*].isbn", ["0-1", "0-5", "0-3"]),
        ("$['store','expensive'].book[0].title", ["Sayings"]),  # not last: each in turn
    ],
)
def test_an_indefinite_path_yields_a_list_of_matches(path: str, expected: Any) -> None:
    compiled = compile_path(path)
    assert not compiled.definite
    assert compiled.get(STORE) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$['expensive','allowed']", {"expensive": 10, "allowed": ["Sword", "The Lord"]}),
        ("$['expensive','missing']", {"expensive": 10}),
        ("$.['expensive','missing']", {"expensive": 10}),
    ],
)
def test_several_names_ending_a_path_select_one_merged_object(path: str, expected: Any) -> None:
    """Jayway's PropertyPathToken "multi-property merge case": a leaf ['a','b'] is
    definite and yields one object with the members present (absent ones omitted)."""
    compiled = compile_path(path)
    assert compiled.definite
    assert compiled.get(STORE) == expected


# Forms AWS's published Step Functions patterns use (issue #16): Jayway reads the
# token after a single '.' afresh, so a dot before a bracket is allowed.
DOT_BRACKET: dict[str, Any] = {
    "Snapshots": [{"State": "available"}, {"State": "creating"}],
    "Accounts": [{"OU": 2, "Id": "a"}, {"OU": 0, "Id": "b"}],
}


@pytest.mark.parametrize(
    ("path", "document", "expected"),
    [
        ("$.[0]", [7, 8], 7),
        ("$.Snapshots.[0].State", DOT_BRACKET, "available"),
        ("$.Snapshots.[-1].State", DOT_BRACKET, "creating"),
        ("$.['Snapshots'].[1]", DOT_BRACKET, {"State": "creating"}),
        (
            "$.[*].['bucket', 'key']",
            [{"bucket": "b1", "key": "k1", "size": 3}, {"bucket": "b2", "key": "k2"}],
            [{"bucket": "b1", "key": "k1"}, {"bucket": "b2", "key": "k2"}],
        ),
        ("$.Accounts.[?(@.OU > 0)].Id", DOT_BRACKET, ["a"]),
        ("$.[?(@.OU > 0)]", DOT_BRACKET["Accounts"], [{"OU": 2, "Id": "a"}]),
        ("$.Snapshots.[*].State", DOT_BRACKET, ["available", "creating"]),
        ("$.Snapshots.[0:1].State", DOT_BRACKET, ["available"]),
    ],
)
def test_a_dot_before_a_bracket_is_jayways_bracket(path: str, document: Any, expected: Any) -> None:
    assert compile_path(path).get(document) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.[0]", 7),  # a definite path of plain keys: the fast path still applies
        ("$.a.[1]", 9),
    ],
)
def test_a_dot_bracket_path_of_names_and_indexes_is_a_reference_path(
    path: str, expected: Any
) -> None:
    document = [7] if path == "$.[0]" else {"a": [8, 9]}
    compiled = compile_reference_path(path)
    assert compiled.get(document) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.store.book[?(@.price < 10)].title", ["Sayings", "Moby Dick"]),
        ("$.store.book[?(@.price > $.expensive)].title", ["Sword", "The Lord"]),
        ("$.store.book[?(@.isbn)].title", ["Sayings", "Moby Dick", "The Lord"]),
        ("$.store.book[?(@.category == 'fiction' && @.price < 20)].title", ["Sword", "Moby Dick"]),
        (
            "$.store.book[?(@.price < 9 || @.price > 20)].title",
            ["Sayings", "Moby Dick", "The Lord"],
        ),
        ("$.store.book[?(!(@.category == 'fiction'))].title", ["Sayings"]),
        ("$.store.book[?(@.title =~ /.*ord/i)].title", ["Sword", "The Lord"]),
        ("$.store.book[?(@.title in $.allowed)].price", [12.99, 22.99]),
        ("$.store.book[?(@.title nin $.allowed)].price", [8.95, 8.99]),
        ("$.store.book[?(@.price > 100)]", []),
    ],
)
def test_filters_select_the_matching_elements(path: str, expected: Any) -> None:
    assert get(path) == expected


def test_a_filter_can_test_membership_in_a_literal_list() -> None:
    assert get("$.store.book[?(@.title in ['Sword', 'The Lord'])].price") == [12.99, 22.99]


def test_deep_scan_finds_every_match() -> None:
    prices = get("$..price")
    assert sorted(prices) == sorted([8.95, 12.99, 8.99, 22.99, 19.95])
    assert get("$..bicycle.color") == ["red"]
    assert get("$..book[0].title") == ["Sayings"]
    assert get("$..nothing") == []


def test_deep_scan_returns_matches_in_document_order() -> None:
    document = {
        "price": 0,
        "lines": [{"price": 1, "sub": {"price": 2}}, {"price": 3}],
        "z": {"price": 4},
    }
    assert get("$..price", document) == [0, 1, 2, 3, 4]
    assert get("$..price", {"a": {"x": {"price": 1}}, "b": {"price": 2}}) == [1, 2]


# -------------------------------------------------------------------- functions


def test_length_of_an_array() -> None:
    assert get("$.store.book.length()") == 4
    assert get("$.allowed.length()") == 2
    assert get("$.empty.length()", {"empty": []}) == 0


def test_length_of_a_missing_value_is_not_found() -> None:
    with pytest.raises(PathNotFound):
        get("$.missing.length()")


# ----------------------------------------------------------------------- roots


def test_roots_input_context_and_variables() -> None:
    assert compile_path("$.a").root == "$"
    assert compile_path("$$.Execution.Id").root == "$$"
    variable = compile_path("$order.id")
    assert (variable.root, variable.variable) == ("var", "order")
    context = {"Execution": {"Id": "arn:x"}}
    assert resolve(compile_path("$$.Execution.Id"), {"a": 1}, context) == "arn:x"
    assert resolve(compile_path("$order.id"), {}, None, {"order": {"id": 7}}) == 7
    with pytest.raises(PathNotFound):
        resolve(compile_path("$order.id"), {}, None, {})


# ---------------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    "path",
    [
        "a.b",
        "$.",
        "$[",
        "$.a[?(@.x ==)]",
        "$.a.foo()",
        "$.a[1:2:3:4]",
        "$['unterminated",
        # Jayway (and so AWS) refuses these too: "Path must not end with a '.' or '..'",
        # and a bracket after a dot must still be a whole bracket.
        "$.a.",
        "$..",
        "$.a..",
        "$.[",
        "$.[0",
        "$..[",
        "$.[]",
    ],
)
def test_a_malformed_path_raises_path_syntax_error(path: str) -> None:
    with pytest.raises(PathSyntaxError):
        compile_path(path)


def test_a_path_is_compiled_once() -> None:
    assert compile_path("$.compiled.once") is compile_path("$.compiled.once")


@pytest.mark.parametrize("path", ["$.a[*]", "$..a", "$.a[?(@.b)]", "$.a[0:1]", "$$.Execution"])
def test_a_reference_path_allows_only_names_and_indexes_in_the_input(path: str) -> None:
    with pytest.raises(PathSyntaxError):
        compile_reference_path(path)


def test_a_reference_path_exposes_its_keys() -> None:
    assert compile_reference_path("$.a['b-c'][2]").keys == ("a", "b-c", 2)


# --------------------------------------------------------------------- set_path


def test_set_path_copies_on_write_and_leaves_the_original_untouched() -> None:
    original = {"a": {"b": {"c": 1}, "keep": [1, 2]}, "other": {"deep": True}}
    snapshot = copy.deepcopy(original)
    updated = set_path(original, ("a", "b", "c"), 99)
    assert original == snapshot
    assert updated == {"a": {"b": {"c": 99}, "keep": [1, 2]}, "other": {"deep": True}}
    # only the spine is copied: untouched branches are shared, never mutated
    assert updated["other"] is original["other"]
    assert updated["a"]["keep"] is original["a"]["keep"]
    assert updated["a"] is not original["a"]


def test_set_path_creates_missing_objects() -> None:
    assert set_path({"x": 1}, ("a", "b"), "v") == {"x": 1, "a": {"b": "v"}}
    assert set_path(None, ("a",), "v") == {"a": "v"}


def test_set_path_into_an_array_element_copies_the_array() -> None:
    original = {"items": [{"n": 1}, {"n": 2}]}
    updated = set_path(original, ("items", 1, "n"), 3)
    assert updated == {"items": [{"n": 1}, {"n": 3}]}
    assert original == {"items": [{"n": 1}, {"n": 2}]}
    assert updated["items"][0] is original["items"][0]


def test_set_path_with_no_keys_replaces_the_document() -> None:
    assert set_path({"a": 1}, (), "whole") == "whole"


@pytest.mark.parametrize(
    ("document", "keys"),
    [("text", ("a",)), ({"a": 5}, ("a", "b")), ({"a": [1]}, ("a", 3)), ({"a": {}}, ("a", 0))],
    ids=["string-root", "through-a-number", "index-out-of-range", "index-into-object"],
)
def test_set_path_refuses_to_write_through_a_non_container(document: Any, keys: Any) -> None:
    before = copy.deepcopy(document)
    with pytest.raises(ResultPathError):
        set_path(document, keys, "v")
    assert document == before
