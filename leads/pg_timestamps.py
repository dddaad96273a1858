"""PostgreSQL: read timestamps with psycopg's C loader.

Django registers its own `timestamptz` loader on every connection: a Python subclass of psycopg's
pure-Python loader that then sets the value's tzinfo to the connection's time zone. A Python
subclass cannot use psycopg's C implementation, so every timestamp is parsed in Python: about
6 µs each, 2 ms for the three timestamps of a 100-row list page (more than the query itself).

When Django's time zone for the connection is UTC and the session's TimeZone is UTC (the default:
USE_TZ and no TIME_ZONE in DATABASES), the C loader already returns exactly what Django's does
(an aware datetime in datetime.timezone.utc), so it is registered on the connection instead.
"""

import datetime

from django.db.backends.base.base import BaseDatabaseWrapper

TIMESTAMPTZ = "timestamptz"


def _c_loader():
    """psycopg's C `timestamptz` text loader, or None without psycopg's C implementation."""
    try:
        import psycopg
        from psycopg.pq import Format
    except ImportError:
        return None
    loader = psycopg.adapters.get_loader(psycopg.adapters.types[TIMESTAMPTZ].oid, Format.TEXT)
    return loader if loader.__module__.startswith("psycopg_binary") else None


def install(connection: BaseDatabaseWrapper) -> bool:
    """Register the C loader on `connection` when it gives Django's results; True if it did."""
    if connection.vendor != "postgresql" or connection.timezone is not datetime.UTC:
        return False
    c_loader = _c_loader()
    raw = connection.connection
    if c_loader is None or raw.info.parameter_status("TimeZone") != "UTC":
        return False

    class UtcTimestamptzLoader:
        """Stands for the C loader in the connection's adapters. `timezone` is what Django's
        cursor() compares with the connection's time zone (equal: it keeps this loader);
        instances are the C loader's own (a C type cannot be subclassed)."""

        format = c_loader.format
        timezone = datetime.UTC

        def __new__(cls, oid, context=None):
            return c_loader(oid, context)

    raw.adapters.register_loader(TIMESTAMPTZ, UtcTimestamptzLoader)
    return True


def on_connection_created(sender, connection: BaseDatabaseWrapper, **kwargs) -> None:
    install(connection)
