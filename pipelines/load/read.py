"""Find the files of a batch and read one into a temporary table of trimmed text.

Reading is where identifiers are dropped and patient_ref is pseudonymized: the select that reads the
file names only contract columns and hashes patient_ref inside DuckDB, so a raw identifier is never
stored in any table, temporary or not.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.contract import EXTRACTS, LOAD_ORDER, ColType, is_identifier, kind_of, normalize_header
from pipelines.load import suites
from pipelines.load.pseudonymize import Pseudonymizer

RAW_TABLE = "_in_raw"
_FORMATS = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet", ".pq": "parquet"}


class FileRejected(Exception):
    """The whole file is refused; the message is the reason, in one line."""


@dataclass
class BatchFile:
    path: Path
    kind: str | None
    fmt: str | None

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class ReadResult:
    rows_read: int
    columns: list[str]  # contract columns present in the file
    dropped_identifiers: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    malformed: list[tuple[int, str]] = field(default_factory=list)  # (data row, problem)


def discover(batch_dir: Path) -> tuple[list[BatchFile], list[BatchFile]]:
    """(files to load in contract order, entries skipped because their kind is unknown)."""
    to_load: list[BatchFile] = []
    skipped: list[BatchFile] = []
    for path in sorted(batch_dir.iterdir(), key=lambda p: p.name):
        # A named extract that cannot be opened (a link to nothing, a special file) is still one of
        # the batch's files: it is rejected with the reason, not skipped as if of unknown kind.
        kind = kind_of(path.name) if not path.is_dir() else None
        entry = BatchFile(path=path, kind=kind, fmt=_format_of(path.name))
        (to_load if kind else skipped).append(entry)
    to_load.sort(key=lambda f: (LOAD_ORDER.index(f.kind), f.name))
    return to_load, skipped


def _format_of(name: str) -> str | None:
    lowered = name.lower()
    for suffix, fmt in _FORMATS.items():
        if lowered.endswith(suffix):
            return fmt
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_into_raw(con: duckdb.DuckDBPyConnection, file: BatchFile, pseudonymizer: Pseudonymizer) -> ReadResult:
    """Create RAW_TABLE(_row, <every contract column as trimmed text or NULL>) from one file."""
    if file.fmt is None:
        raise FileRejected("cannot be read: not a CSV (.csv, .csv.gz) or Parquet (.parquet) file")
    if file.path.stat().st_size == 0:
        raise FileRejected("cannot be read: the file is empty (no header row)")
    headers = _csv_header(file.path) if file.fmt == "csv" else _parquet_header(con, file.path)
    extract = EXTRACTS[file.kind]
    normalized = [normalize_header(h) for h in headers]
    seen: set[str] = set()
    for name in normalized:
        if name in seen and name:
            raise FileRejected(f"the header names column {name} twice")
        seen.add(name)
    position = {name: i for i, name in enumerate(normalized)}
    present = [c for c in extract.columns if c in position]
    missing = [c for c in suites.always_required(file.kind) if c not in position]
    if missing:
        raise FileRejected("required column(s) missing from the header: " + ", ".join(missing))
    extra = [n for n in normalized if n not in extract.columns]
    dropped = [n for n in extra if n and is_identifier(n)]
    ignored = [n if n else "(unnamed)" for n in extra if not (n and is_identifier(n))]

    source = _source_columns(headers, position, file.fmt)
    params: dict[str, object] = {"path": str(file.path)}
    selects = []
    for column, ctype in extract.columns.items():
        if column not in position:
            selects.append(f"NULL::VARCHAR AS {column}")
            continue
        text = f"nullif(trim(CAST({source[column]} AS VARCHAR)), '')"
        if ctype is ColType.PSEUDONYM:
            text = pseudonymizer.sql(text)
            params.update(pseudonymizer.params())
        selects.append(f"{text} AS {column}")
    select_list = ", ".join(selects)

    if file.fmt == "csv":
        # Columns we do not keep must still be decoded, or bad UTF-8 in them would go unnoticed:
        # a NULL test reads each of them without storing its value.
        unread = [f"c{i}" for i in range(len(headers)) if normalized[i] not in extract.columns]
        if unread:
            # One flat list, not a chain of additions: a chain nests one level per column, and DuckDB
            # refuses an expression nested deeper than 1,000 (a file with 2,000 extra columns).
            select_list += ", list_count(list_value(" + ", ".join(unread) + ")) AS _unread"
        malformed = _read_csv(con, params, len(headers), select_list, file.path)
    else:
        malformed = []
        _read_parquet(con, params, select_list)
    accepted = con.execute(f"SELECT count(*) FROM {RAW_TABLE}").fetchone()[0]
    return ReadResult(
        rows_read=accepted + len(malformed), columns=present, dropped_identifiers=dropped,
        ignored_columns=ignored, malformed=malformed,
    )


def _source_columns(headers: list[str], position: dict[str, int], fmt: str) -> dict[str, str]:
    if fmt == "csv":  # positional names given to the CSV reader
        return {name: f"c{i}" for name, i in position.items()}
    return {name: _quote_ident(headers[i]) for name, i in position.items()}


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_MAX_HEADER_BYTES = 1 << 20


def _csv_header(path: Path) -> list[str]:
    try:
        # The first line alone: a text reader decodes a whole block, so a bad byte in the first data
        # rows was reported as a bad header (the data rows' encoding is checked by the read itself).
        with _open_bytes(path) as fh:
            first = fh.readline(_MAX_HEADER_BYTES).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRejected("cannot be read: the header is not UTF-8 text") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise FileRejected(f"cannot be read: {_gzip_problem(exc)}") from None
    if not first.strip():
        raise FileRejected("cannot be read: the first line (the header row) is empty")
    try:
        return next(csv.reader([first]))
    except csv.Error as exc:
        raise FileRejected(f"cannot be read: the header row is not valid CSV ({exc})") from None


def _open_bytes(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed when its name ends in .gz."""
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def _open_text(path: Path) -> io.TextIOBase:
    return io.TextIOWrapper(_open_bytes(path), encoding="utf-8-sig", newline="")


def _gzip_problem(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, (EOFError, zlib.error, gzip.BadGzipFile)) or "gzip" in text.lower():
        return f"not a complete gzip file ({text})"
    return text


def _parquet_header(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    try:
        rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        schema = con.execute("SELECT name, num_children FROM parquet_schema(?)", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise FileRejected(f"cannot be read: not a readable Parquet file ({_first_line(exc)})") from None
    # DuckDB renames a repeated column (primary_indication, primary_indication_1), which would hide
    # it among the ignored columns; the file's own names let the header check refuse it, as for CSV.
    names = _top_level_names(schema)
    return names if len(names) == len(rows) else [r[0] for r in rows]


def _top_level_names(schema: list[tuple[str, int | None]]) -> list[str]:
    """The top-level column names of a Parquet schema listing (root first, children depth-first)."""
    def after(i: int) -> int:  # the index after the element at i and all its descendants
        children = schema[i][1] or 0
        i += 1
        for _ in range(children):
            i = after(i)
        return i

    names, i = [], 1
    while i < len(schema):
        names.append(schema[i][0])
        i = after(i)
    return names


def _read_csv(con: duckdb.DuckDBPyConnection, params: dict, width: int, select_list: str,
              path: Path) -> list[tuple[int, str]]:
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    con.execute("DROP TABLE IF EXISTS _rej_errors; DROP TABLE IF EXISTS _rej_scans")
    con.execute(f"DROP VIEW IF EXISTS {RAW_TABLE}")
    try:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {RAW_TABLE}_scan AS
            SELECT {select_list}
            FROM read_csv($path, header = false, skip = 1, delim = ',', quote = '"', escape = '"',
                          auto_detect = false, columns = {columns}, strict_mode = true,
                          store_rejects = true, rejects_table = '_rej_errors',
                          rejects_scan = '_rej_scans', encoding = 'utf-8')
            """,
            params,
        )
    except duckdb.Error as exc:
        raise FileRejected(f"cannot be read: {_csv_problem(exc)}") from None
    rejects = con.execute(
        "SELECT line, string_agg(DISTINCT error_type, ', ') AS problems, "
        "bool_or(error_type = 'INVALID ENCODING') AS bad_encoding "
        "FROM _rej_errors GROUP BY line ORDER BY line"
    ).fetchall()
    if con.execute(f"SELECT count(*) FROM duckdb_columns() WHERE table_name = '{RAW_TABLE}_scan' "
                   "AND column_name = '_unread'").fetchone()[0]:
        con.execute(f"ALTER TABLE {RAW_TABLE}_scan DROP COLUMN _unread")
    rows = _data_rows(path, [r[0] for r in rejects]) if rejects else {}
    rejects = [(rows[line], problems, bad) for line, problems, bad in rejects]
    # The reject table keeps the offending line's text, which may hold identifiers: drop it now.
    con.execute("DROP TABLE IF EXISTS _rej_errors; DROP TABLE IF EXISTS _rej_scans")
    encoding_rows = [r[0] for r in rejects if r[2]]
    if encoding_rows:
        con.execute(f"DROP TABLE {RAW_TABLE}_scan")
        raise FileRejected(f"cannot be read: not UTF-8 text (first at data row {encoding_rows[0]})")
    # Accepted records keep file order (DuckDB preserves insertion order), so rowid k is the k-th
    # accepted record; with rejected records in between, map ordinals onto the rows left free.
    if rejects:
        con.execute("CREATE OR REPLACE TEMP TABLE _rej_rows(data_row BIGINT)")
        con.executemany("INSERT INTO _rej_rows VALUES (?)", [[r[0]] for r in rejects])
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _row_map AS
            WITH total AS (SELECT (SELECT count(*) FROM {RAW_TABLE}_scan) + (SELECT count(*) FROM _rej_rows) AS n)
            SELECT r.range + 1 AS data_row, row_number() OVER (ORDER BY r.range) - 1 AS ordinal
            FROM total, range(total.n) r
            WHERE r.range + 1 NOT IN (SELECT data_row FROM _rej_rows)
            """
        )
        con.execute(
            f"CREATE TEMP VIEW {RAW_TABLE} AS SELECT m.data_row AS _row, s.* "
            f"FROM {RAW_TABLE}_scan s JOIN _row_map m ON m.ordinal = s.rowid"
        )
    else:
        con.execute(f"CREATE TEMP VIEW {RAW_TABLE} AS SELECT rowid + 1 AS _row, * FROM {RAW_TABLE}_scan")
    return [(row, f"malformed CSV row ({problems.lower()})") for row, problems, _ in rejects]


def _data_rows(path: Path, record_lines: list[int]) -> dict[int, int]:
    """Data-row numbers of rejected records. DuckDB numbers a rejected record by its place among all
    records, header and blank lines included, while accepted rows skip blank lines; so blank lines
    before a record are subtracted (found with a real CSV reader, only when the file has any)."""
    if not _has_blank_line(path):
        return {line: line - 1 for line in record_lines}
    wanted, last = set(record_lines), max(record_lines)
    out: dict[int, int] = {}
    blanks = 0
    try:
        with _open_text(path) as fh:
            for record, row in enumerate(csv.reader(fh), start=1):
                if record > last:
                    break
                if not row:
                    blanks += 1
                elif record in wanted:
                    out[record] = record - 1 - blanks
    except (csv.Error, UnicodeDecodeError, OSError, EOFError, zlib.error):
        pass
    return {line: out.get(line, line - 1) for line in record_lines}


def _has_blank_line(path: Path) -> bool:
    tail = b""
    with _open_bytes(path) as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            chunk = tail + block
            if b"\n\n" in chunk or b"\n\r\n" in chunk:
                return True
            tail = chunk[-2:]
    return False


def _read_parquet(con: duckdb.DuckDBPyConnection, params: dict, select_list: str) -> None:
    con.execute(f"DROP VIEW IF EXISTS {RAW_TABLE}")
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {RAW_TABLE}_scan AS "
            f"SELECT file_row_number + 1 AS _row, {select_list} "
            f"FROM read_parquet($path, file_row_number = true)",
            params,
        )
    except duckdb.Error as exc:
        raise FileRejected(f"cannot be read: not a readable Parquet file ({_first_line(exc)})") from None
    con.execute(f"CREATE TEMP VIEW {RAW_TABLE} AS SELECT * FROM {RAW_TABLE}_scan")


def _csv_problem(exc: duckdb.Error) -> str:
    text = _first_line(exc)
    lowered = text.lower()
    if "gzip" in lowered:
        return "not a complete gzip file"
    if "unicode" in lowered or "utf-8" in lowered or "encoding" in lowered:
        return "not UTF-8 text"
    return f"not valid CSV ({text})"


def _first_line(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]
