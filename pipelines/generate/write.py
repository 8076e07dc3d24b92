"""Rendering values as contract text and writing CSV / gzip CSV / Parquet files deterministically."""

from __future__ import annotations

import gzip
import io
import queue
import threading
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

# Timestamp styles: most rows naive ISO with a space; a few in the other valid contract forms.
NAIVE, ISO_T, US, UTC_Z, OFFSET = 0, 1, 2, 3, 4
STYLE_WEIGHTS = [0.955, 0.02, 0.013, 0.006, 0.006]
_EPOCH = datetime(1970, 1, 1)


def styles(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.searchsorted(np.cumsum(STYLE_WEIGHTS), rng.random(n) * sum(STYLE_WEIGHTS), side="right").astype(np.int8)


def timestamps(minutes: np.ndarray, start: date, style: np.ndarray, tz_index: np.ndarray,
               timezones: list[str]) -> pl.Series:
    """Minutes since the period's first local midnight -> text; negative = empty. A value with an
    offset names the same instant as the local wall-clock time in the row's clinic time zone."""
    base_us = int((datetime(start.year, start.month, start.day) - _EPOCH).total_seconds()) * 1_000_000
    missing = minutes < 0
    safe = np.where(missing, 0, minutes.astype(np.int64))
    out = (pl.Series(safe * 60_000_000 + base_us).cast(pl.Datetime("us"))).dt.strftime("%Y-%m-%d %H:%M")
    special = np.flatnonzero((style != NAIVE) & ~missing)
    if special.size:
        us = safe[special] * 60_000_000 + base_us
        sub = pl.Series("t", us, dtype=pl.Int64).cast(pl.Datetime("us"))
        st = style[special]
        tzs = tz_index[special]
        text = np.empty(special.size, dtype=object)  # filled below, all strings
        for code, fmt in ((ISO_T, "%Y-%m-%dT%H:%M:%S"), (US, "%m/%d/%Y %H:%M")):
            sel = np.flatnonzero(st == code)
            if sel.size:
                text[sel] = sub.gather(sel).dt.strftime(fmt).to_numpy()
        for tz_i in np.unique(tzs):
            for code in (UTC_Z, OFFSET):
                sel = np.flatnonzero((st == code) & (tzs == tz_i))
                if not sel.size:
                    continue
                local = sub.gather(sel).dt.replace_time_zone(timezones[tz_i], ambiguous="earliest",
                                                             non_existent="null")
                if code == UTC_Z:
                    s = local.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                else:
                    s = local.dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
                fallback = sub.gather(sel).dt.strftime("%Y-%m-%d %H:%M")
                text[sel] = s.fill_null(fallback).to_numpy()
        out = out.scatter(special, pl.Series(text.tolist(), dtype=pl.String))
    return blank(out, missing)


def blank(series: pl.Series, missing: np.ndarray | None) -> pl.Series:
    """The series with the rows where `missing` is true set to empty (null)."""
    if missing is None or not missing.any():
        return series
    return series.scatter(np.flatnonzero(missing), pl.Series([None] * int(missing.sum()), dtype=pl.String))


_SMALL_INTS = pl.Series([str(i) for i in range(-1000, 1000)] + [None], dtype=pl.String)


def ints(values: np.ndarray, missing: np.ndarray | None = None) -> pl.Series:
    """Whole numbers as text; `missing` rows empty. Small values come from a lookup table (fast)."""
    if values.size and -1000 <= values.min() and values.max() < 1000:
        idx = values.astype(np.int64) + 1000
        if missing is not None:
            idx = np.where(missing, len(_SMALL_INTS) - 1, idx)
        return _SMALL_INTS.gather(idx)
    return blank(pl.Series(values.astype(np.int64)).cast(pl.String), missing)


def decimals(values: np.ndarray, digits: int = 1) -> pl.Series:
    """Floats rounded to `digits`, NaN = empty ("82.4", "35.0")."""
    return pl.Series(np.round(values.astype(np.float64), digits)).fill_nan(None).cast(pl.String)


def labels(index: np.ndarray, names: list[str]) -> pl.Series:
    """index into names -> text; negative index = empty."""
    table = pl.Series(list(names) + [None], dtype=pl.String)
    idx = np.where(index < 0, len(names), index).astype(np.int64)
    return table.gather(idx)


def prefixed(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    """e.g. prefixed("S-", [12], 8) -> "S-00000012"."""
    digits = pl.Series(numbers.astype(np.int64)).cast(pl.String).str.zfill(width)
    return pl.select(pl.lit(prefix) + digits).to_series()


class TableWriter:
    """Write one file from frames of text columns, chunk by chunk; gzip runs in a worker thread."""

    def __init__(self, path: Path, fmt: str, columns: list[str], compresslevel: int = 4):
        self.path = Path(path)
        self.fmt = fmt
        self.columns = columns
        self.rows = 0
        self._first = True
        self._raw = None
        self._gz = None
        self._pq = None
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        if fmt in ("csv", "csv.gz"):
            self._raw = open(self.path, "wb")
            sink = self._raw
            if fmt == "csv.gz":
                self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=compresslevel,
                                         mtime=0)
                sink = self._gz
            self._sink = sink
            self._queue = queue.Queue(maxsize=3)
            self._thread = threading.Thread(target=self._drain, daemon=True)
            self._thread.start()

    def _drain(self) -> None:
        while True:
            data = self._queue.get()
            if data is None:
                return
            if self._error is None:
                try:
                    self._sink.write(data)
                except BaseException as exc:  # reported on close
                    self._error = exc

    def write_bytes(self, data: bytes) -> None:
        self._queue.put(data)

    def write(self, frame: pl.DataFrame, *, raw_lines: list[tuple[int, str]] | None = None) -> None:
        """Append rows. raw_lines: (position inside this frame, verbatim CSV line) inserted as-is."""
        frame = frame.select(self.columns)
        self.rows += frame.height + len(raw_lines or [])
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = frame.to_arrow().cast(pa.schema([(c, pa.string()) for c in self.columns]))
            if self._pq is None:
                self._pq = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._pq.write_table(table, row_group_size=1_000_000)
            return
        buf = io.BytesIO()
        header = self._first
        frame.write_csv(buf, include_header=header, line_terminator="\n", quote_style="necessary")
        self._first = False
        data = buf.getvalue()
        if raw_lines:
            lines = data.split(b"\n")
            for pos, text in sorted(raw_lines, reverse=True):
                lines.insert(int(header) + min(pos, frame.height), text.encode())
            data = b"\n".join(lines)
        self.write_bytes(data)

    def close(self) -> int:
        if self.fmt == "parquet":
            if self._pq is None:  # no rows at all: still a valid file with the columns
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table({c: pa.array([], pa.string()) for c in self.columns}), self.path,
                               compression="zstd")
            else:
                self._pq.close()
            return self.rows
        if self._first:  # header only
            self.write_bytes((",".join(self.columns) + "\n").encode())
        self._queue.put(None)
        self._thread.join()
        if self._gz is not None:
            self._gz.close()
        self._raw.close()
        if self._error is not None:
            raise self._error
        return self.rows


def write_frame(path: Path, fmt: str, frame: pl.DataFrame, *, raw_lines=None) -> int:
    w = TableWriter(path, fmt, frame.columns)
    try:
        w.write(frame, raw_lines=raw_lines)
    finally:
        rows = w.close()
    return rows
