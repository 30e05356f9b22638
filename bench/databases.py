"""Fresh, migrated databases for the benchmark: SQLite files under bench/cache/db/, PostgreSQL
databases named `inspector_bench*` on the server of `--pg-url` (never any other database).

Migrations run once per run into a template; each fresh database is a copy of it, so creating
one costs milliseconds and no measurement includes migrating."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
DB_DIR = Path(__file__).resolve().parent / "cache" / "db"
PREFIX = "inspector_bench"


class SetupError(RuntimeError):
    """A database the benchmark cannot make (server down, migrations failing)."""


def migrate(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise SetupError(f"manage.py migrate failed: {last}")


class SQLiteDatabases:
    vendor = "sqlite"

    def __init__(self, template: str = "template") -> None:
        """`template`: the migrated database each fresh one copies; one per script, so that
        the bench scripts may run side by side."""
        DB_DIR.mkdir(parents=True, exist_ok=True)
        self.template = DB_DIR / f"{template}.sqlite3"
        self.drop_file(self.template)
        migrate(self.url(template))

    def url(self, name: str) -> str:
        return f"sqlite:///{DB_DIR / name}.sqlite3"

    @staticmethod
    def drop_file(path: Path) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def fresh(self, name: str) -> str:
        """An empty, migrated database; its URL."""
        target = DB_DIR / f"{name}.sqlite3"
        self.drop_file(target)
        shutil.copyfile(self.template, target)
        return self.url(name)

    def drop(self, name: str) -> None:
        self.drop_file(DB_DIR / f"{name}.sqlite3")

    def version(self) -> str:
        import sqlite3

        return sqlite3.sqlite_version


class PostgresDatabases:
    vendor = "postgres"

    def __init__(self, admin_url: str, template: str = "template") -> None:
        self.admin_url = admin_url
        try:
            self.admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise SetupError(f"cannot connect: {str(exc).strip()}") from None
        self.template = f"{PREFIX}_{template}"
        self.drop(self.template)
        self.create(self.template)
        migrate(self.url(self.template))

    def url(self, name: str) -> str:
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{name}"))

    def create(self, name: str, template: str | None = None) -> None:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self.admin.execute(statement)

    def drop(self, name: str) -> None:
        if not name.startswith(PREFIX):
            name = f"{PREFIX}_{name}"  # only ever a benchmark database
        statement = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        # Plain DROP stops an autovacuum worker busy in the database (WITH (FORCE) would need
        # the right to signal it, which a CREATEDB role lacks); retry while a just-ended
        # connection of ours is still going away.
        for attempt in range(20):
            try:
                self.admin.execute(statement)
                return
            except psycopg.errors.ObjectInUse:
                if attempt == 19:
                    raise
                time.sleep(0.5)

    def fresh(self, name: str) -> str:
        name = f"{PREFIX}_{name}"
        self.drop(name)
        self.create(name, template=self.template)
        return self.url(name)

    def version(self) -> str:
        row = self.admin.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"

    def close(self) -> None:
        self.drop(self.template)
        self.admin.close()


def each_database(
    db: str, pg_url: str, template: str, errors: dict[str, str], say: Callable[[str], None]
) -> Iterator[tuple[str, SQLiteDatabases | PostgresDatabases]]:
    """The databases a run measures (`--db sqlite|postgres|both`), each with its maker of
    scratch databases from `template`; one that cannot be set up is said, kept in `errors`
    and skipped, and the run goes on with the other."""
    for vendor in ("sqlite", "postgres"):
        if db not in (vendor, "both"):
            continue
        try:
            dbs = (
                SQLiteDatabases(template)
                if vendor == "sqlite"
                else PostgresDatabases(pg_url, template)
            )
        except SetupError as exc:
            errors[vendor] = str(exc)
            say(f"{vendor}: skipped: {exc}")
            continue
        yield vendor, dbs
