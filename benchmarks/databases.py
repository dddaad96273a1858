"""The benchmarks' own databases, beside the one DATABASE_URL names (no Django here)."""

from __future__ import annotations


def sibling_postgres_url(url: str, suffix: str, *, fresh: bool = False) -> str:
    """The URL of database `<name>_<suffix>` on the server of PostgreSQL `url`, created when
    missing (dropped and created again with `fresh`)."""
    import psycopg

    base, _, name = url.rpartition("/")
    database = f"{name or 'postgres'}_{suffix}"
    admin = base.replace("postgres://", "postgresql://", 1) + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return f"{base}/{database}"
