"""Build the SQL models in sql/ (staging -> intermediate -> marts) inside a warehouse connection.

Each model is one file, `sql/<layer>/<name>.sql`, holding one select (a CTE chain ending in
`select * from final`). The runner creates `<layer>.<name>` from it: staging models as views over
the raw tables, intermediate and mart models as tables, rebuilt on every publish. Dependencies are
read from the `<layer>.<model>` names each file mentions, so files can be added without a registry.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.config import SQL_DIR

LAYERS = ("staging", "intermediate", "marts")
_MATERIALIZATION = {"staging": "VIEW", "intermediate": "TABLE", "marts": "TABLE"}
_REF = re.compile(r"\b(staging|intermediate|marts)\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)


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


def build_all(con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR) -> dict[str, float]:
    """Create or replace every model; returns seconds per model."""
    timings: dict[str, float] = {}
    for layer in LAYERS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    for model in discover(sql_dir):
        started = time.perf_counter()
        kind = _MATERIALIZATION[model.layer]
        other = "TABLE" if kind == "VIEW" else "VIEW"
        try:
            con.execute(f"DROP {other} IF EXISTS {model.qualified}")
            con.execute(f"CREATE OR REPLACE {kind} {model.qualified} AS\n{model.sql}")
        except duckdb.Error as exc:
            raise ModelError(f"model {model.qualified} ({model.path.name}) failed: {str(exc).splitlines()[0]}") from exc
        timings[model.qualified] = time.perf_counter() - started
    return timings
