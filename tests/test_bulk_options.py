"""BulkOptions: every submit_many option written once, checked once, overridable by keyword."""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any, get_type_hints

import attrs
import pytest

import omeda_async.bulk
from omeda_async import BulkOptions, MemoryStore, OmedaClient, PollPolicy
from omeda_async.bulk import BulkOverrides, submit_many


@pytest.fixture
def client() -> OmedaClient:
    return OmedaClient(brand="ABC", app_id="a", input_id="i")


def test_defaults_are_the_documented_ones() -> None:
    """The defaults every submit_many call had before options were an object."""
    options = BulkOptions()
    assert attrs.asdict(options, recurse=False) == {
        "concurrency": 16,
        "track": False,
        "store": None,
        "key": None,
        "kind": None,
        "ordered": False,
        "resend_unknown": False,
        "follow_merges": False,
        "pending_retries": 3,
        "pending_retry_delay": 60.0,
        "run_processor": False,
        "processor_batch": 100,
        "processor_wait": 1.0,
        "poll_policy": None,
        "max_tracked": 10_000,
        "input_id": None,
        "transaction_of": None,
    }


def test_the_keyword_facade_names_every_option_with_its_type() -> None:
    """BulkOverrides (the typed **overrides) and BulkOptions cannot drift apart."""
    fields = {field.name for field in attrs.fields(BulkOptions)}
    assert set(BulkOverrides.__annotations__) == fields
    options_hints = get_type_hints(BulkOptions)
    overrides_hints = get_type_hints(BulkOverrides)
    assert {name: overrides_hints[name] for name in fields} == {
        name: options_hints[name] for name in fields
    }


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("concurrency", 0, ValueError),
        ("concurrency", True, ValueError),
        ("concurrency", 2.0, ValueError),
        ("pending_retries", -1, ValueError),
        ("processor_batch", 0, ValueError),
        ("max_tracked", 0, ValueError),
        ("pending_retry_delay", -1.0, ValueError),
        ("pending_retry_delay", math.nan, ValueError),
        ("processor_wait", "1", TypeError),
        ("kind", "invoice", ValueError),
        ("store", "journal.db", TypeError),
        ("key", "FirstName", TypeError),
        ("transaction_of", 5, TypeError),
        ("poll_policy", {"initial_delay": 1}, TypeError),
        ("input_id", 12345, TypeError),
    ],
)
def test_bad_options_fail_when_made_and_name_the_option(
    name: str, value: object, error: type[Exception]
) -> None:
    """Each option is checked where it is given, with a message naming it."""
    with pytest.raises(error, match=name if error is ValueError else None):
        BulkOptions(**{name: value})
    with pytest.raises(error):
        attrs.evolve(BulkOptions(), **{name: value})


def test_seconds_are_stored_as_floats() -> None:
    """An int number of seconds is a float afterwards (as the clock expects)."""
    options = BulkOptions(pending_retry_delay=5, processor_wait=0)
    assert (options.pending_retry_delay, options.processor_wait) == (5.0, 0.0)
    assert isinstance(options.pending_retry_delay, float)


def test_the_input_id_never_shows() -> None:
    """input_id is a credential: repr shows '***'."""
    text = repr(BulkOptions(input_id="sekrit-input"))
    assert "sekrit" not in text
    assert "input_id='***'" in text


def test_overrides_replace_fields_of_the_options(client: OmedaClient) -> None:
    """submit_many(rows, options, **overrides): the keywords win; the options are unchanged."""
    store = MemoryStore()
    options = BulkOptions(concurrency=4, store=store, poll_policy=PollPolicy.bulk())
    job = client.submit_many([], options, concurrency=8, ordered=True)
    used = job._job.options
    assert (used.concurrency, used.ordered, used.store, used.poll_policy) == (
        8,
        True,
        store,
        PollPolicy.bulk(),
    )
    assert options.concurrency == 4
    assert submit_many(client, [], options)._job.options is options


def test_wrong_options_are_refused(client: OmedaClient) -> None:
    """An unknown keyword, a checked one, or options that are not BulkOptions."""
    overrides: dict[str, Any] = {"concurency": 8}
    with pytest.raises(TypeError):
        client.submit_many([], **overrides)
    with pytest.raises(ValueError, match="concurrency"):
        client.submit_many([], BulkOptions(), concurrency=-1)
    with pytest.raises(TypeError, match="BulkOptions"):
        client.submit_many([], {"concurrency": 8})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "built"),
    [
        ({}, set()),
        ({"track": True}, {"tracking"}),
        ({"transaction_of": lambda row: None}, {"dependencies"}),
        ({"run_processor": True}, {"processor"}),
    ],
)
async def test_each_collaborator_is_built_only_when_its_option_is_used(
    overrides: dict[str, Any], built: set[str]
) -> None:
    """A plain job carries no tracking bridge, dependency gate or processor batcher."""
    async with OmedaClient(brand="ABC", app_id="a", input_id="i") as client:
        bulk = client.submit_many([], **overrides)
        assert [outcome async for outcome in bulk] == []  # an empty input sends nothing
    job = bulk._job
    parts = {"tracking": job._tracking, "dependencies": job._deps, "processor": job._processor}
    assert {name for name, part in parts.items() if part is not None} == built


def test_the_bulk_package_never_imports_the_client() -> None:
    """The job sends through the Submitter protocol: no import of _client, no tangle."""
    package = Path(omeda_async.bulk.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "_client" not in (node.module or ""), module.name
            if isinstance(node, ast.Import):
                assert all("_client" not in alias.name for alias in node.names), module.name
