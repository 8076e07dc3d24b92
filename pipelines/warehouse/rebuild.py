"""Rebuild the SQL models of the published warehouse when their definitions change.

The marts and the metrics macros are built from sql/ by every load and stored in the warehouse file,
so a new release whose SQL defines a number differently would otherwise go on showing the old
definition until a batch with new files arrived: re-loading the same batch changes nothing, and
starting again from an empty warehouse would lose the history of replaced rows. Each build therefore
stores a fingerprint of the sql/ files it ran (`audit.meta` key `models_fingerprint`); when the
published one differs from the code's, `rebuild_models` (the `rebuild` command, and a load of a batch
with nothing new) builds a new version from the published one with the models rebuilt and publishes
it atomically, exactly as a load does. The raw tables, the audit and the quarantine are copied as they
are. A warehouse built before fingerprints were stored has none, so it is rebuilt once.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines import config
from pipelines.errors import WarehouseError
from pipelines.warehouse import models, schema
from pipelines.warehouse.publish import Warehouse, version_number

FINGERPRINT_KEY = "models_fingerprint"


def definitions_fingerprint(sql_dir: Path = config.SQL_DIR) -> str:
    """sha256 of every .sql file under sql_dir, with its path: what a build of the models ran."""
    digest = hashlib.sha256()
    for path in sorted(sql_dir.rglob("*.sql")):
        digest.update(path.relative_to(sql_dir).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def open_build(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection to a version being built, set up as every build needs it."""
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{config.load_memory_limit()}'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")  # the loader writes its own progress lines to stderr
    return con


def build_models(con: duckdb.DuckDBPyConnection, sql_dir: Path = config.SQL_DIR) -> dict[str, float]:
    """Every model and macro of sql_dir, and the fingerprint of what was built; seconds per model."""
    timings = models.build_all(con, sql_dir)
    schema.set_meta(con, FINGERPRINT_KEY, definitions_fingerprint(sql_dir))
    return timings


def open_published(version: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a published version; a damaged file is one clear error."""
    try:
        return duckdb.connect(str(version), read_only=True)
    except duckdb.Error as exc:  # damaged, or not a DuckDB file at all
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WarehouseError(f"the published warehouse {version} cannot be opened ({first}); restore it from a "
                             "backup or point --db at a new path") from None


def published_meta(version: Path | None, key: str) -> str | None:
    """One `audit.meta` value of a published version (None: no version, or no such value yet)."""
    if version is None:
        return None
    con = open_published(version)
    try:
        row = con.execute("SELECT value FROM audit.meta WHERE key = ?", [key]).fetchone()
    except duckdb.Error:  # a version without an audit schema
        row = None
    finally:
        con.close()
    return row[0] if row else None


def stored_fingerprint(version: Path) -> str | None:
    """The fingerprint the published version was built with (None: built before they were stored)."""
    return published_meta(version, FINGERPRINT_KEY)


def is_stale(version: Path, sql_dir: Path = config.SQL_DIR) -> bool:
    return stored_fingerprint(version) != definitions_fingerprint(sql_dir)


@dataclass
class RebuildReport:
    rebuilt: bool
    version: int | None
    seconds: float = 0.0

    def to_text(self, pointer: Path) -> str:
        if not self.rebuilt:
            return f"the models of {pointer} are up to date (version {self.version}); nothing was rebuilt"
        return f"rebuilt the models of {pointer}: published version {self.version} in {self.seconds:.1f} s"


def rebuild_locked(warehouse: Warehouse, keep_versions: int, sql_dir: Path = config.SQL_DIR) -> Path:
    """A new version: the published one with its models rebuilt. Call while holding the lock."""
    building = warehouse.start_build()
    try:
        con = open_build(building)
        try:
            build_models(con, sql_dir)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        final = warehouse.publish(building)
    except BaseException as exc:
        for leftover in (building, building.with_name(building.name + ".wal")):
            leftover.unlink(missing_ok=True)
        if isinstance(exc, models.ModelError):  # one line for the rebuild command and for a load alike
            raise WarehouseError(f"the models could not be rebuilt, the published version is unchanged: {exc}") from None
        raise
    warehouse.prune(keep_versions)
    return final


def rebuild_models(db: str | Path | None = None, force: bool = False, sql_dir: Path = config.SQL_DIR,
                   settings: config.LoadSettings | None = None) -> RebuildReport:
    """Rebuild the published warehouse's models if their definitions changed (or always, with force)."""
    settings = settings or config.LoadSettings.from_env()
    warehouse = Warehouse(config.db_path(db))
    if warehouse.current_path() is None:
        raise WarehouseError(f"no warehouse at {warehouse.pointer}: load a batch first (python -m pipelines load DIR)")
    with warehouse.lock():
        warehouse.remove_stale_builds()
        current = warehouse.current_path()
        if not force and not is_stale(current, sql_dir):
            return RebuildReport(rebuilt=False, version=version_number(current))
        started = time.perf_counter()
        final = rebuild_locked(warehouse, settings.keep_versions, sql_dir)
        return RebuildReport(rebuilt=True, version=version_number(final), seconds=time.perf_counter() - started)
