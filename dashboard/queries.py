"""The app's only door to the warehouse: read-only, parameterized, cached by warehouse version.

The published version file is resolved once per rerun; connections and query results are cached
under that resolved path, so a new load shows up without a restart and an old version's results
are never mixed with a new one's. Each Streamlit session thread takes its own cursor.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from pipelines import config
from pipelines.warehouse.publish import resolve_version

RESULT_TTL_SECONDS = 600


def current_version_path() -> Path | None:
    """The published version file right now (None before the first load)."""
    return resolve_version(config.db_path())


@st.cache_resource(show_spinner=False, max_entries=4)
def _connection(version_path: str) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(version_path, read_only=True)


@st.cache_data(ttl=RESULT_TTL_SECONDS, show_spinner=False, max_entries=512)
def _query(version_path: str, sql: str, params: tuple) -> pd.DataFrame:
    cursor = _connection(version_path).cursor()
    try:
        return cursor.execute(sql, list(params)).df()
    finally:
        cursor.close()


def query(sql: str, params: tuple = ()) -> pd.DataFrame:
    path = current_version_path()
    if path is None:
        return pd.DataFrame()
    return _query(str(path), sql, tuple(params))


def load_files() -> pd.DataFrame:
    return query(
        "select load_id, batch, finished_at, file, kind, status, rows_read, loaded, quarantined, "
        "duplicates, replaced, reason from staging.stg_load_files order by load_id desc, file"
    )
