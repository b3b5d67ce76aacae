"""Reading Omeda's JSON: repeated keys are kept, Errors are flattened in order."""

from __future__ import annotations

import json

import pytest

from omeda_async._json import Repeated, error_messages, last, loads, values

# Transaction Lookup's own example: one object repeats "Error".
PAGE_004_EXAMPLE = (
    '{ "TransactionId":42355632, "Status":2, "ClientCustomerId":1293401, '
    '"Errors":[ { "Error":"invalid email", "Error":"vulgarity" } ] }'
)


def test_repeated_key_keeps_every_value_in_order() -> None:
    """Both "Error" values of the page's example survive parsing, in document order."""
    data = loads(PAGE_004_EXAMPLE.encode())
    error = data["Errors"][0]["Error"]
    assert isinstance(error, Repeated)
    assert error == ["invalid email", "vulgarity"]


def test_three_repeats_collect_into_one_marker() -> None:
    """A key repeated three times becomes one Repeated of three values."""
    data = loads('{"a": 1, "a": 2, "a": 3}')
    assert data["a"] == [1, 2, 3]
    assert isinstance(data["a"], Repeated)


def test_arrays_are_plain_lists_not_repeats() -> None:
    """A JSON array is never mistaken for a repeated key."""
    data = loads('{"a": [1, 2]}')
    assert type(data["a"]) is list


def test_repeated_array_values_stay_distinct() -> None:
    """A key repeated with array values keeps each array as one value."""
    data = loads('{"a": [1], "a": [2, 3]}')
    assert values(data["a"]) == [[1], [2, 3]]


def test_last_reads_like_plain_json() -> None:
    """last() gives what json.loads would have kept; values() lists every value."""
    data = loads('{"a": 1, "a": 2, "b": 3}')
    assert last(data["a"]) == json.loads('{"a": 1, "a": 2}')["a"]
    assert last(data["b"]) == 3
    assert values(data["b"]) == [3]


def test_not_json_raises_value_error() -> None:
    """Truncated JSON and undecodable bytes raise ValueError (the transport maps it)."""
    with pytest.raises(ValueError, match=r"Unterminated|Expecting"):
        loads(b'{"ResponseInfo":[{"Transac')
    with pytest.raises(ValueError, match=r"decode|Expecting"):
        loads(b"\xff\xfe\xfa")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32-be"])
def test_bytes_in_every_json_encoding(encoding: str) -> None:
    """Bytes decode as json.loads decodes them, the plain-UTF-8 shortcut included."""
    text = '{"Error": "caf\u00e9", "Error": "\u2603", "n": 1}'
    raw = text.encode(encoding)
    data = loads(raw)
    assert values(data["Error"]) == ["caf\u00e9", "\u2603"]
    assert data["n"] == json.loads(raw)["n"] == 1


def test_a_repeat_in_a_nested_object_only_marks_that_object() -> None:
    """Objects without a repeated key stay plain dicts around one that has one."""
    data = loads(b'{"a": {"x": 1, "x": 2}, "b": {"y": 1}}')
    assert type(data) is dict
    assert type(data["b"]) is dict
    assert data["a"]["x"] == [1, 2]


def test_error_messages_flatten_repeats_in_order() -> None:
    """Every Error of every Errors item comes out, repeats included, in order."""
    data = loads(b'{"Errors":[{"Error":"one","Error":"two"},{"Error":"three"}],"SubmissionId":"x"}')
    assert error_messages(data) == ("one", "two", "three")


def test_error_messages_page_004_example() -> None:
    """The page's example yields both messages."""
    assert error_messages(loads(PAGE_004_EXAMPLE)) == ("invalid email", "vulgarity")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"Errors": {"Error": "single object"}}', ("single object",)),
        ('{"Errors": ["bare string"]}', ("bare string",)),
        ('{"Errors": [{"Error": "a"}], "Errors": [{"Error": "b"}]}', ("a", "b")),
        ('{"Errors": [{"MergedIntoCustomerId": 9, "Error": "merged"}]}', ("merged",)),
        ('{"Errors": [{"Error": null}, {"Other": 1}]}', ()),
        ('{"Errors": [{"Error": 42}]}', ("42",)),
        ('{"ResponseInfo": []}', ()),
        ("[1, 2]", ()),
        ("null", ()),
    ],
)
def test_error_messages_tolerates_odd_shapes(text: str, expected: tuple[str, ...]) -> None:
    """Single-object Errors, bare strings, repeated Errors keys and junk never fail."""
    assert error_messages(loads(text)) == expected
