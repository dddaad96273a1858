"""Many rows into a table in few statements, one way per database: COPY on PostgreSQL (psycopg
encodes each value), multi-row INSERTs under the parameter limit on SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection

SQLITE_MAX_PARAMS = 30_000  # SQLite >= 3.32 allows 32,766 per statement; an older build 999
IN_CHUNK = 500  # values per IN (…) list, well under any SQLite build's parameter limit


def chunks(values: Sequence, size: int = IN_CHUNK) -> Iterator[Sequence]:
    """`values` in slices of at most `size`, for IN (…) lists under SQLite's parameter limit."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def write_rows(table: str, names: str, rows: list[tuple]) -> None:
    """`rows` into `table` (quoted) with the columns `names` (quoted, comma-separated)."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            copy_rows(cursor, table, names, rows)
        else:
            insert_rows(cursor, table, names, rows)


def copy_rows(cursor: Any, table: str, names: str, rows: list[tuple]) -> None:
    """PostgreSQL: COPY the rows into `table` (psycopg encodes each value)."""
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_rows(
    cursor: Any, table: str, names: str, rows: list[tuple], returning: str = ""
) -> list:
    """SQLite: multi-row INSERTs, each under the parameter limit. With `returning` (an
    ON CONFLICT … RETURNING clause), returns the rows it returns."""
    placeholders = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
    chunk = max(1, sqlite_max_params() // len(rows[0]))
    returned = []
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        cursor.execute(
            f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608 - constant identifiers
            f"{', '.join([placeholders] * len(part))} {returning}",
            [value for row in part for value in row],
        )
        if returning:
            returned.extend(cursor.fetchall())
    return returned


def sqlite_max_params() -> int:
    """Parameters one statement may take: this SQLite build's limit, at most SQLITE_MAX_PARAMS."""
    connection.ensure_connection()
    limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return min(limit, SQLITE_MAX_PARAMS)
