"""Fixtures of the PostgresStore tests: the server's DSN and a fresh schema per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from tests.postgres.support import drop_schema, new_schema, postgres_dsn


@pytest.fixture
def dsn() -> str:
    """The test server (skips, or fails under CI, without one)."""
    return postgres_dsn()


@pytest.fixture
async def schema(dsn: str) -> AsyncIterator[str]:
    """A schema of this test's own, dropped afterwards."""
    name = new_schema()
    yield name
    await drop_schema(dsn, name)


@pytest.fixture
def make_store(dsn: str, schema: str) -> Callable[..., object]:
    """Stores on this test's schema (``make_store(job="J", lease=...)``)."""
    from omeda_async.postgres import PostgresStore

    def make(**options: object) -> PostgresStore:
        options.setdefault("job", "job")
        options.setdefault("schema", schema)
        return PostgresStore(dsn, **options)  # type: ignore[arg-type]

    return make
