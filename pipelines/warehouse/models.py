"""Build the SQL models in sql/ (staging -> intermediate -> marts) inside a warehouse connection.

Each model is one file, `sql/<layer>/<name>.sql`, holding one select (a CTE chain ending in
`select * from final`). The runner creates `<layer>.<name>` from it: staging models as views over
the raw tables, intermediate and mart models as tables, rebuilt on every publish.

Intermediate models are building blocks of the marts, read by nothing else (the app and the macros
read marts and staging only), so they are built in an in-memory database attached as `intermediate`
for the length of the rebuild and are not published: the warehouse file does not spend time
compressing and writing them, and is smaller for the next load to copy (on 40 clinics x 36 months:
533 MB instead of 645 MB, and the rebuild about 0.5 s shorter). Hence two rules the runner enforces:
an intermediate model is always a table (a view in the attached database would look its names up
there), and a published view must not read an intermediate model (it would point at nothing).

Dependencies are read from the `<layer>.<model>` names each file mentions, so files can be added
without a registry. A staging or mart model can ask for the other materialization with a header line
`-- materialized: view` (or table).

After the marts, `sql/metrics/*.sql` files are run as they are: each holds `CREATE OR REPLACE MACRO
metrics.<name> ...` statements (scalar helpers and `AS TABLE` macros over the marts). Macros live in
the warehouse file, so a read-only connection (the dashboard, the `metrics` command) can call them
with `?` parameters. DuckDB binds a macro when it is created, so files run in dependency order (the
`metrics.<name>` a file uses are created first), and the schema is rebuilt from scratch each time so a
removed macro does not linger in later versions.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.config import SQL_DIR

LAYERS = ("staging", "intermediate", "marts")
MACRO_LAYER = "metrics"
_MATERIALIZATION = {"staging": "VIEW", "intermediate": "TABLE", "marts": "TABLE"}
# A model may ask for another materialization in a comment line of its header (before the SQL),
# e.g. "-- materialized: view" for a thin join that is cheaper to run than to store.
_MATERIALIZED = re.compile(r"^--\s*materialized:\s*(view|table)\b", re.IGNORECASE | re.MULTILINE)
_REF = re.compile(r"\b(staging|intermediate|marts)\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)
BUILD_ONLY_LAYER = "intermediate"  # built in memory during a rebuild, never published (see above)


class ModelError(Exception):
    """A model failed to build; the message names the model."""


@dataclass(frozen=True)
class Model:
    layer: str
    name: str
    path: Path

    @property
    def qualified(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def grain(self) -> str:
        first = self.sql.lstrip().splitlines()[0] if self.sql.strip() else ""
        return first.lstrip("- ").strip()

    @property
    def materialization(self) -> str:
        header = "\n".join(line for line in self.sql.lstrip().splitlines()[:5] if line.startswith("--"))
        match = _MATERIALIZED.search(header)
        return match.group(1).upper() if match else _MATERIALIZATION[self.layer]

    def depends_on(self) -> set[str]:
        return {f"{m.group(1).lower()}.{m.group(2).lower()}" for m in _REF.finditer(_strip_comments(self.sql))}


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def discover(sql_dir: Path = SQL_DIR) -> list[Model]:
    models = [
        Model(layer, path.stem, path)
        for layer in LAYERS
        for path in sorted((sql_dir / layer).glob("*.sql"))
    ]
    return _ordered(models)


def _ordered(models: list[Model]) -> list[Model]:
    by_name = {m.qualified: m for m in models}
    done: list[Model] = []
    state: dict[str, str] = {}

    def visit(model: Model, trail: tuple[str, ...]) -> None:
        if state.get(model.qualified) == "done":
            return
        if state.get(model.qualified) == "visiting":
            raise ModelError("models depend on each other in a cycle: " + " -> ".join(trail + (model.qualified,)))
        state[model.qualified] = "visiting"
        for dep in sorted(model.depends_on()):
            if dep != model.qualified and dep in by_name:
                visit(by_name[dep], trail + (model.qualified,))
        state[model.qualified] = "done"
        done.append(model)

    for model in models:
        visit(model, ())
    return done


@dataclass(frozen=True)
class MacroFile:
    """One file of `sql/metrics`: the macros it creates and the ones it calls."""

    name: str
    path: Path

    @property
    def qualified(self) -> str:
        return f"{MACRO_LAYER}.{self.name}"

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def creates(self) -> set[str]:
        return {m.group(1).lower() for m in _MACRO_DEF.finditer(_strip_comments(self.sql))}

    def uses(self) -> set[str]:
        return {m.group(1).lower() for m in _MACRO_REF.finditer(_strip_comments(self.sql))} - self.creates()


_MACRO_DEF = re.compile(r"\bmacro\s+metrics\.([a-z_][a-z0-9_]*)", re.IGNORECASE)
_MACRO_REF = re.compile(r"\bmetrics\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)


def discover_macros(sql_dir: Path = SQL_DIR) -> list[MacroFile]:
    """The files of sql/metrics, each after the files whose macros it uses."""
    files = [MacroFile(path.stem, path) for path in sorted((sql_dir / MACRO_LAYER).glob("*.sql"))]
    provider = {name: f for f in files for name in f.creates()}
    done: list[MacroFile] = []
    state: dict[str, str] = {}

    def visit(f: MacroFile, trail: tuple[str, ...]) -> None:
        if state.get(f.name) == "done":
            return
        if state.get(f.name) == "visiting":
            raise ModelError("macro files depend on each other in a cycle: " + " -> ".join(trail + (f.name,)))
        state[f.name] = "visiting"
        for used in sorted(f.uses()):
            if used in provider and provider[used] is not f:
                visit(provider[used], trail + (f.name,))
        state[f.name] = "done"
        done.append(f)

    for f in files:
        visit(f, ())
    return done


def build_macros(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> dict[str, float]:
    """Recreate the `metrics` schema's macros from sql/metrics; returns seconds per file."""
    timings: dict[str, float] = {}
    con.execute(f"DROP SCHEMA IF EXISTS {MACRO_LAYER} CASCADE")
    con.execute(f"CREATE SCHEMA {MACRO_LAYER}")
    for f in discover_macros(sql_dir):
        started = time.perf_counter()
        try:
            con.execute(f.sql)
        except duckdb.Error as exc:
            raise ModelError(f"macros {f.qualified} ({f.path.name}) failed: {str(exc).splitlines()[0]}") from exc
        timings[f.qualified] = time.perf_counter() - started
    return timings


def _existing_kind(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> str | None:
    row = con.execute(
        "SELECT 'TABLE' FROM duckdb_tables() WHERE schema_name = ? AND table_name = ? "
        "UNION ALL SELECT 'VIEW' FROM duckdb_views() WHERE schema_name = ? AND view_name = ? AND NOT internal",
        [schema, name, schema, name],
    ).fetchone()
    return row[0] if row else None


def build_all(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> dict[str, float]:
    """Create or replace every model, then the metrics macros; returns seconds per model."""
    timings: dict[str, float] = {}
    ordered = discover(sql_dir)
    for model in ordered:
        if model.layer == BUILD_ONLY_LAYER and model.materialization == "VIEW":
            # A view in the attached database would look its own names up in that database.
            raise ModelError(f"model {model.qualified} ({model.path.name}) asks to be a view; intermediate "
                             "models are tables, built in memory for the rebuild")
        if model.layer != BUILD_ONLY_LAYER and model.materialization == "VIEW" and any(
            dep.startswith(BUILD_ONLY_LAYER + ".") for dep in model.depends_on()
        ):
            raise ModelError(f"model {model.qualified} ({model.path.name}) is a view over an intermediate model, "
                             "which is not published: make it a table")
    # Versions published before intermediate models moved out of the file still hold the schema; the
    # name would then be ambiguous (a schema of this database, and the attached database).
    con.execute(f"DROP SCHEMA IF EXISTS {BUILD_ONLY_LAYER} CASCADE")
    for layer in LAYERS:
        if layer != BUILD_ONLY_LAYER:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    con.execute(f"ATTACH ':memory:' AS {BUILD_ONLY_LAYER}")
    try:
        for model in ordered:
            started = time.perf_counter()
            kind = model.materialization
            try:
                existing = None if model.layer == BUILD_ONLY_LAYER else _existing_kind(con, model.layer, model.name)
                if existing is not None and existing != kind:  # "DROP TABLE IF EXISTS" fails on a view
                    con.execute(f"DROP {existing} {model.qualified}")
                con.execute(f"CREATE OR REPLACE {kind} {model.qualified} AS\n{model.sql}")
            except duckdb.Error as exc:
                raise ModelError(f"model {model.qualified} ({model.path.name}) failed: {str(exc).splitlines()[0]}") from exc
            timings[model.qualified] = time.perf_counter() - started
    finally:
        con.execute(f"DETACH {BUILD_ONLY_LAYER}")
    timings.update(build_macros(con, sql_dir))
    return timings
