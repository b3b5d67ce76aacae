"""A PostgreSQL DSN: where it points, said without its password.

The DSN's password is a secret like the app id: it never appears in a
``repr``, a log line or an exception message. :func:`parse_dsn` keeps the
parts that are safe to show (user, host, port, database) apart from the
password, and every message built from a driver's error passes through a
``Redactor`` holding the password and the DSN itself.
"""

from __future__ import annotations

import urllib.parse

import attrs

from omeda_async._redact import Redactor

__all__ = ["Dsn", "parse_dsn"]

_SCHEMES = ("postgresql", "postgres")


@attrs.frozen
class Dsn:
    """A checked DSN: the text the driver gets, and what may be shown of it."""

    text: str = attrs.field(repr=False)
    where: str
    """``postgresql://user@host:port/database``: no password, no query."""
    user: str | None
    redact: Redactor = attrs.field(repr=False, eq=False)


def parse_dsn(dsn: object) -> Dsn:
    """Check ``dsn`` is a ``postgresql://`` URI (never quoted: it may hold a password)."""
    if not isinstance(dsn, str):
        raise TypeError(f"dsn must be a string, not {type(dsn).__name__}")
    try:
        url = urllib.parse.urlsplit(dsn.strip())
        query = urllib.parse.parse_qs(url.query)
        # Reading these raises ValueError for a malformed port or netloc.
        port = url.port
        user = url.username
        password = url.password
    except ValueError:
        raise ValueError(
            "dsn is not a PostgreSQL URI (postgresql://user@host:port/database); "
            "it is not shown here because it may hold a password"
        ) from None
    if url.scheme not in _SCHEMES:
        raise ValueError(
            "dsn must be a PostgreSQL URI starting with postgresql:// "
            "(it is not shown here because it may hold a password)"
        )
    secrets: list[str | None] = [dsn, dsn.strip(), password]
    secrets += query.get("password", [])
    if password is not None:
        secrets.append(urllib.parse.unquote(password))
    if not user and query.get("user"):
        user = query["user"][0]
    host = url.hostname or (query.get("host") or ["localhost"])[0]
    database = url.path.lstrip("/") or (query.get("dbname") or query.get("database") or [""])[0]
    shown_host = f"[{host}]" if ":" in host else host
    where = f"postgresql://{user + '@' if user else ''}{shown_host}"
    if port is not None:
        where += f":{port}"
    where += f"/{urllib.parse.unquote(database)}"
    return Dsn(dsn.strip(), where, user, Redactor(s for s in secrets if s))
