"""asyncpg's exceptions mapped once to the project's own, never quoting the DSN's password.

Every failure of the database reaches the caller as a :class:`StoreError`
(``path`` is the DSN without its password). The driver's own text is used
only where it is the server's explanation, and only after the redaction step
(the password, the DSN, card numbers): a client-side asyncpg message may
quote a query argument, so those are never passed on.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Final

import asyncpg

from omeda_async._errors import StoreError, StoreWriteError

from ._dsn import Dsn

__all__ = ["LeaseLostError", "connection_lost", "map_error"]


class LeaseLostError(StoreError):
    """A write of a worker whose lease on the record was taken over: refused, nothing changed.

    The worker stalled (or lost the database) past its lease, and another
    worker took the record over; the fence on the record moved on, so this
    worker's late write was refused. ``key`` names the record;
    ``transaction_id`` is the TransactionId the refused write carried, if any
    (a late ``accept``: the record is reported unknown by the fleet, and this
    id lets a person reconcile it).
    """

    def __init__(
        self, message: str, *, path: str, key: str, transaction_id: int | None = None
    ) -> None:
        super().__init__(message, path=path)
        self.key = key
        self.transaction_id = transaction_id


_CONNECTION_LOST: Final = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)

_CANNOT_CONNECT: Final = (
    OSError,
    socket.gaierror,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionRejectionError,
    asyncpg.exceptions.ClientCannotConnectError,
)


def connection_lost(exc: BaseException) -> bool:
    """True when ``exc`` says the connection failed (not that a statement was wrong)."""
    return isinstance(exc, _CONNECTION_LOST) or (
        isinstance(exc, asyncpg.PostgresError)
        and str(getattr(exc, "sqlstate", "")).startswith(("08", "57P"))
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return type(exc).__name__


def map_error(exc: BaseException, dsn: Dsn, doing: str, *, connecting: bool = False) -> StoreError:
    """The project's error for ``exc``, raised while ``doing`` (a phrase: "open the journal")."""
    where = dsn.where
    if isinstance(exc, StoreError):
        return exc
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        who = f"user {dsn.user!r}" if dsn.user else "the user"
        return StoreError(
            f"PostgreSQL at {where} refused the credentials of {who} (wrong password, or "
            f"no such role): could not {doing}",
            path=where,
        )
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return StoreError(f"PostgreSQL at {where}: no such database: could not {doing}", path=where)
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return StoreError(
            f"PostgreSQL at {where}: permission denied "
            f"({dsn.redact(getattr(exc, 'message', '') or '')}): could not {doing}",
            path=where,
        )
    if connecting and isinstance(exc, _CANNOT_CONNECT):
        return StoreError(
            f"cannot connect to PostgreSQL at {where} ({_reason(exc)}): could not {doing}; "
            "is the server running, and is the DSN right?",
            path=where,
        )
    if connection_lost(exc):
        return StoreWriteError(
            f"lost the connection to PostgreSQL at {where} ({_reason(exc)}) while trying to "
            f"{doing}: it may or may not have been recorded; nothing is reported as recorded "
            "that was not",
            path=where,
        )
    if isinstance(exc, asyncpg.PostgresError) and not isinstance(
        exc, asyncpg.exceptions.DataError | asyncpg.InterfaceError
    ):
        # The server's own words (never a query argument), redacted all the same.
        message = dsn.redact(str(getattr(exc, "message", "") or type(exc).__name__))
        return StoreWriteError(
            f"PostgreSQL at {where} refused to {doing}: {message} "
            f"(SQLSTATE {getattr(exc, 'sqlstate', '?')})",
            path=where,
        )
    return StoreWriteError(
        f"PostgreSQL at {where}: could not {doing} ({type(exc).__name__})", path=where
    )
