"""A real PostgreSQL for the tests: where it is, a schema per test, and how to start one.

``.ci/run`` starts a throwaway server and exports ``OMEDA_TEST_POSTGRES_DSN``
(and ``OMEDA_TEST_POSTGRES_REQUIRED=1``: then a missing server fails the
tests instead of skipping them). A developer without PostgreSQL gets skips
that say how to start one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

DSN_VARIABLE = "OMEDA_TEST_POSTGRES_DSN"
REQUIRED_VARIABLE = "OMEDA_TEST_POSTGRES_REQUIRED"

HOW_TO_START = f"""\
no PostgreSQL for the PostgresStore tests: set {DSN_VARIABLE}, for example
  initdb -D /tmp/omeda-pg -A trust -U postgres
  pg_ctl -D /tmp/omeda-pg -o "-c listen_addresses=127.0.0.1 -p 55432 -k /tmp/omeda-pg" start
  export {DSN_VARIABLE}=postgresql://postgres@127.0.0.1:55432/postgres
(as root: runuser -u postgres -- initdb ...), or run .ci/run, which starts one"""


def postgres_dsn() -> str:
    """The test server's DSN; skips (or fails, when CI requires PostgreSQL) without one."""
    dsn = os.environ.get(DSN_VARIABLE, "").strip()
    required = os.environ.get(REQUIRED_VARIABLE, "") not in ("", "0")
    problem = None
    if not dsn:
        problem = HOW_TO_START
    else:
        try:
            import asyncpg  # noqa: F401
        except ImportError:
            problem = 'asyncpg is not installed: pip install -e ".[test]"'
    if problem is not None:
        if required:
            pytest.fail(f"{REQUIRED_VARIABLE} is set but {problem}", pytrace=False)
        pytest.skip(problem)
    return dsn


def new_schema() -> str:
    """A schema name no other test uses."""
    return f"t_{uuid.uuid4().hex[:16]}"


async def drop_schema(dsn: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


@asynccontextmanager
async def admin(dsn: str) -> AsyncIterator[Any]:
    """A plain connection for what a test does behind the store's back (moving a lease)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        yield conn
    finally:
        await conn.close()
