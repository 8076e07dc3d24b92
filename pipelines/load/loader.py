"""Load one batch folder into a new warehouse version and publish it.

For each file, in the contract's order (clinics, patients, sessions, vitals, assessments,
side_effects), inside its own transaction of the build:
  read (identifiers dropped, patient_ref hashed) -> set exact duplicates aside -> type the values
  -> GX suite (row rules) -> SQL checks (keys, references) -> reject the file if too many rows
  broke rules, else quarantine the broken rows and upsert the rest (replaced rows go to history).
Then quarantined orphans whose parent may have arrived are retried, the SQL models are rebuilt, the
audit written, and the new version published atomically. A batch that changes nothing (every file
already loaded, rejected or skipped) publishes nothing: the warehouse stays exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines import __version__, config
from pipelines.contract import EXTRACTS, LOAD_ORDER
from pipelines.errors import LoadError, WarehouseError
from pipelines.load import apply, integrity, suite_sql, suites, typing, validate
from pipelines.load.pseudonymize import Pseudonymizer, default_pseudonymizer
from pipelines.load.read import RAW_TABLE, BatchFile, FileRejected, discover, read_into_raw, sha256_of
from pipelines.load.report import FileReport, LoadReport, printable
from pipelines.warehouse import rebuild, schema
from pipelines.warehouse.publish import Warehouse, version_number

Progress = Callable[[str], None]


@dataclass
class _Context:
    con: duckdb.DuckDBPyConnection
    load_id: int
    now: dt.datetime  # the load's moment, UTC, naive
    settings: config.LoadSettings
    pseudonymizer: Pseudonymizer
    progress: Progress | None

    @property
    def suite_parameters(self) -> dict:
        return {
            suites.LATEST_ALLOWED_UTC: self.now + dt.timedelta(days=1),
            suites.CURRENT_YEAR: self.now.year,
        }

    checks: _BackgroundChecks = field(default_factory=lambda: _BackgroundChecks())

    def say(self, text: str) -> None:
        if self.progress:
            self.progress(text)


class _BackgroundChecks:
    """Great Expectations' re-check of each file (validate.Check), run in one worker thread, one file
    after another, while DuckDB goes on with the next file: GX is Python on pandas and DuckDB releases
    the interpreter while it works, so the two share the machine's cores instead of taking turns.
    `wait()` comes before anything is decided from the files (orphans resolved, models rebuilt,
    published) and raises the first disagreement, exactly as a check run in place would have."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gx-check")
        self._pending: list[Future] = []
        self.rows = 0
        self.files = 0

    def submit(self, check: validate.Check) -> None:
        self._pending.append(self._pool.submit(check.run))

    def wait(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            self.rows += future.result()
            self.files += 1

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def stderr_progress(text: str) -> None:
    print(printable(text), file=sys.stderr, flush=True)


def load_batch(
    batch_dir: str | Path,
    db: str | Path | None = None,
    settings: config.LoadSettings | None = None,
    pseudonymizer: Pseudonymizer | None = None,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> LoadReport:
    batch = Path(batch_dir)
    if not batch.exists():
        raise LoadError(f"batch folder {batch} does not exist")
    if not batch.is_dir():
        raise LoadError(f"{batch} is not a folder; give the folder that holds the extract files")
    settings = settings or config.LoadSettings.from_env()
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    warehouse = Warehouse(config.db_path(db))
    published = warehouse.current_path()  # a pointer that is a plain file, a folder or a loop is refused here
    # A new key is made on first use only: a mistyped key path must not leave a fresh key behind.
    pseudonymizer = pseudonymizer or default_pseudonymizer(may_create=_stored_fingerprint(published) is None)
    warehouse.make_parent()
    report = LoadReport(batch=str(batch_dir))
    files, skipped = discover(batch)

    with warehouse.lock():
        warehouse.remove_stale_builds()
        current = warehouse.current_path()
        known_shas = _loaded_shas(current)
        _check_key(current, pseudonymizer)
        hashes, unreadable = _hash_files(files)
        if all(hashes[f.path] in known_shas for f in files if f.path in hashes):
            for f in files:
                report.files.append(_unreadable(f, unreadable[f.path]) if f.path in unreadable
                                    else _already_loaded(f, hashes[f.path], known_shas))
            report.files += [_skipped(f) for f in skipped]
            if current is not None and rebuild.is_stale(current):
                # Nothing new to load, but this release defines the models differently from the ones
                # published: rebuild them, or the app would go on showing the old definitions.
                final = rebuild.rebuild_locked(warehouse, settings.keep_versions)
                report.warehouse_version, report.published = version_number(final), True
                report.message = ("nothing new in this batch; the models were rebuilt because their definitions "
                                  f"changed (version {report.warehouse_version})")
                return report
            report.warehouse_version = version_number(current) if current else None
            report.message = "nothing new in this batch: the warehouse is unchanged"
            return report

        building = warehouse.start_build()
        con = rebuild.open_build(building)
        ctx: _Context | None = None
        try:
            schema.create_all(con)
            _remember_key(con, pseudonymizer)
            load_id = (con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM audit.loads").fetchone()[0])
            ctx = _Context(con, load_id, now, settings, pseudonymizer, progress)
            started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            seen_in_batch: dict[str, str] = {}
            for f in files:
                if f.path in unreadable:
                    report.files.append(_unreadable(f, unreadable[f.path]))
                    continue
                sha = hashes[f.path]
                if sha in known_shas or sha in seen_in_batch:
                    report.files.append(_already_loaded(f, sha, {**known_shas, **seen_in_batch}))
                    continue
                file_report = _load_file(ctx, f, sha)
                report.files.append(file_report)
                if file_report.status == "loaded":
                    seen_in_batch[sha] = f"{f.name} (this batch)"
            report.files += [_skipped(f) for f in skipped]
            t_checks = time.perf_counter()
            ctx.checks.wait()
            if ctx.checks.files:
                ctx.say(f"Great Expectations agreed with the SQL evaluation on all {ctx.checks.rows:,} rows it "
                        f"re-checked in {ctx.checks.files} file(s) (waited {time.perf_counter() - t_checks:.1f} s)")
            report.orphans_retried, report.orphans_resolved = _retry_orphans(ctx)

            changed = any(f.status == "loaded" for f in report.files) or report.orphans_resolved
            if not changed:
                con.close()
                building.unlink(missing_ok=True)
                report.warehouse_version = version_number(current) if current else None
                report.message = "no file loaded: the warehouse is unchanged"
                return report

            ctx.say("rebuilding models (staging, intermediate, marts)")
            t0 = time.perf_counter()
            rebuild.build_models(con)
            model_seconds = time.perf_counter() - t0
            _write_audit(ctx, report, batch, started, version_number(building.with_name(building.name.removesuffix(".building"))), model_seconds)
            con.execute("CHECKPOINT")
            con.close()
            final = warehouse.publish(building)
            warehouse.prune(settings.keep_versions)
            report.load_id = load_id
            report.warehouse_version = version_number(final)
            report.published = True
            report.model_seconds = model_seconds
            return report
        except BaseException:
            try:
                con.close()
            except duckdb.Error:
                pass
            for leftover in (building, building.with_name(building.name + ".wal")):
                leftover.unlink(missing_ok=True)
            raise
        finally:
            if ctx is not None:
                ctx.checks.close()


def _loaded_shas(current: Path | None) -> dict[str, str]:
    """sha256 -> where it was loaded, from the published version."""
    if current is None:
        return {}
    con = rebuild.open_published(current)
    try:
        has_audit = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'audit' AND table_name = 'files'"
        ).fetchone()[0]
        if not has_audit:
            return {}
        rows = con.execute(
            "SELECT sha256, file, load_id FROM audit.files WHERE status = 'loaded' AND sha256 IS NOT NULL"
        ).fetchall()
    finally:
        con.close()
    return {sha: f"{file} (load {load_id})" for sha, file, load_id in rows}


def _stored_fingerprint(current: Path | None) -> str | None:
    """The fingerprint of the key the published warehouse was built with (None: none yet)."""
    return rebuild.published_meta(current, "key_fingerprint")


def _check_key(current: Path | None, pseudonymizer: Pseudonymizer) -> None:
    stored = _stored_fingerprint(current)
    if stored and stored != pseudonymizer.fingerprint():
        raise LoadError(
            "this warehouse was pseudonymized with a different key; set CLINIC_ANALYTICS_KEY_FILE "
            "or CLINIC_ANALYTICS_PSEUDONYM_KEY to the key it was built with"
        )


def _remember_key(con: duckdb.DuckDBPyConnection, pseudonymizer: Pseudonymizer) -> None:
    if schema.get_meta(con, "key_fingerprint") is None:
        schema.set_meta(con, "key_fingerprint", pseudonymizer.fingerprint())


def _hash_files(files: list[BatchFile]) -> tuple[dict[Path, str], dict[Path, str]]:
    """(sha256 of each file that can be read, why each other one cannot). A file the loader may not
    open, or a link to nothing, is rejected on its own; the rest of the batch still loads."""
    hashes: dict[Path, str] = {}
    unreadable: dict[Path, str] = {}
    for f in files:
        try:
            if not f.path.is_file():
                raise FileNotFoundError(2, "the link points to no file" if f.path.is_symlink() else "not a regular file")
            hashes[f.path] = sha256_of(f.path)
        except OSError as exc:
            unreadable[f.path] = f"cannot be read: {(exc.strerror or str(exc)).lower()}; nothing of it was stored"
    return hashes, unreadable


def _unreadable(f: BatchFile, reason: str) -> FileReport:
    return FileReport(file=f.name, kind=f.kind, status="rejected", reason=reason)


def _already_loaded(f: BatchFile, sha: str, known: dict[str, str]) -> FileReport:
    return FileReport(
        file=f.name, kind=f.kind, status="already_loaded", sha256=sha, bytes=f.path.stat().st_size,
        reason=f"the same content (sha256 {sha[:12]}...) was already loaded as {known.get(sha, 'an earlier file')}; nothing changed",
    )


def _skipped(f: BatchFile) -> FileReport:
    what = "a folder" if f.path.is_dir() else "a file of unknown kind"
    return FileReport(
        file=f.name, kind=None, status="skipped",
        reason=f"{what}: names must start with one of {', '.join(LOAD_ORDER)}",
    )


def _load_file(ctx: _Context, f: BatchFile, sha: str) -> FileReport:
    con = ctx.con
    started = time.perf_counter()
    report = FileReport(file=f.name, kind=f.kind, status="loaded", sha256=sha, bytes=f.path.stat().st_size)
    # Read outside the transaction: temporary tables then number their rows from 0 in file order.
    try:
        read = read_into_raw(con, f, ctx.pseudonymizer)
    except FileRejected as exc:
        _drop_temp(con)
        report.status, report.reason = "rejected", str(exc)
        report.seconds = time.perf_counter() - started
        return report
    con.execute("BEGIN TRANSACTION")
    try:
        report.rows_read = read.rows_read
        report.dropped_identifier_columns = read.dropped_identifiers
        report.ignored_columns = read.ignored_columns
        big = read.rows_read >= 200_000
        if big:
            ctx.say(f"{f.name}: read {read.rows_read:,} rows in {time.perf_counter() - started:.1f} s")

        typing.build_typed(con, f.kind, RAW_TABLE)
        integrity.start_failures(con)
        integrity.add_failures(con, [(row, f"{f.kind}.row.malformed", problem) for row, problem in read.malformed])
        report.duplicates = integrity.check_repeats(con, f.kind, RAW_TABLE, typing.TYPED_TABLE)
        rule_counts, gx_checked = _run_suite(ctx, f.kind, f.name, big)
        integrity.check_references(con, f.kind, typing.TYPED_TABLE)

        broken = con.execute(f"SELECT count(DISTINCT _row) FROM {integrity.FAILURES_TABLE}").fetchone()[0]
        report.top_reasons = _top_reasons(con)
        share = broken / read.rows_read if read.rows_read else 0.0
        if share > ctx.settings.max_broken_share:
            con.execute("ROLLBACK")
            report.status = "rejected"
            report.reason = (
                f"{broken:,} of {read.rows_read:,} rows ({share:.1%}) break rules, more than the "
                f"{ctx.settings.max_broken_share:.0%} allowed; no row of this file was stored"
            )
            # Nothing of a rejected file is stored: every row is held back (exact repeats stay
            # counted as duplicates), so read = loaded + quarantined + duplicates still holds.
            report.quarantined = read.rows_read - report.duplicates
            report.seconds = time.perf_counter() - started
            _drop_temp(con)
            return report

        _record_checks(ctx, f, rule_counts, gx_checked)
        report.quarantined = apply.quarantine(con, f.kind, RAW_TABLE, ctx.load_id, f.name, ctx.now)
        report.loaded, report.replaced = apply.upsert(
            con, f.kind, typing.TYPED_TABLE, ctx.load_id, "?", "t._row", ctx.now, file_param=f.name
        )
        _drop_temp(con)
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    report.seconds = time.perf_counter() - started
    if not report.balanced:  # a bug, never bad data: refuse to publish rather than lose rows
        raise LoadError(
            f"{f.name}: counts do not add up (read {report.rows_read} != loaded {report.loaded} + "
            f"quarantined {report.quarantined} + duplicates {report.duplicates}); nothing was published"
        )
    if big:
        ctx.say(f"{f.name}: {report.rows_read:,} rows in {report.seconds:.1f} s "
                f"({report.rows_read / max(report.seconds, 1e-9):,.0f} rows/s)")
    return report


def _run_suite(ctx: _Context, kind: str, name: str, big: bool) -> tuple[list[suite_sql.RuleCount], int]:
    """The kind's GX suite over every row (as SQL), then GX itself on all or a sample of the rows."""
    t0 = time.perf_counter()
    counts = suite_sql.evaluate(ctx.con, suites.suite(kind), typing.TYPED_TABLE, ctx.suite_parameters)
    if big:
        ctx.say(f"{name}: {kind} suite evaluated in {time.perf_counter() - t0:.1f} s")
    check = validate.prepare_check(ctx.con, kind, typing.TYPED_TABLE, ctx.suite_parameters, integrity.FAILURES_TABLE)
    ctx.checks.submit(check)
    if big:
        ctx.say(f"{name}: Great Expectations re-checks {check.checked:,} rows in the background")
    return counts, check.checked


def _top_reasons(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    return [
        (reason, n) for reason, n in con.execute(
            f"SELECT reason, count(DISTINCT _row) n FROM {integrity.FAILURES_TABLE} "
            "GROUP BY reason ORDER BY n DESC, reason LIMIT 5"
        ).fetchall()
    ]


def _record_checks(ctx: _Context, f: BatchFile, counts: list[suite_sql.RuleCount], gx_checked: int) -> None:
    suite_name = suites.suite(f.kind).name
    rows = [
        (ctx.load_id, f.name, f.kind, "great_expectations", suite_name, c.rule_id, c.expectation_type,
         c.description, c.success, c.element_count, c.unexpected_count, gx_checked)
        for c in counts
    ]
    rows += [
        (ctx.load_id, f.name, f.kind, "sql", None, rule_id, None, words, failing == 0, checked, failing, None)
        for rule_id, words, checked, failing in integrity.check_counts(ctx.con, f.kind, typing.TYPED_TABLE)
    ]
    ctx.con.executemany("INSERT INTO audit.check_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _drop_temp(con: duckdb.DuckDBPyConnection) -> None:
    for view in (RAW_TABLE, "_in_valid", "_clinic_tz"):
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for table in (f"{RAW_TABLE}_scan", "_row_map", "_rej_rows", "_in_dupes", "_in_candidates",
                  typing.TYPED_TABLE, integrity.FAILURES_TABLE):  # the typed table is adopted or dropped
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _retry_orphans(ctx: _Context) -> tuple[int, int]:
    """Quarantined rows whose only fault was a missing parent are tried again: they load if the
    parent has arrived; a row whose key was loaded meanwhile from a newer file is marked superseded."""
    con = ctx.con
    retried = resolved = 0
    for kind in LOAD_ORDER:
        if not EXTRACTS[kind].references:
            continue
        pending = con.execute(
            "SELECT count(*) FROM audit.quarantine WHERE kind = ? AND orphan_only AND resolved_by_load IS NULL "
            "AND load_id < ?",
            [kind, ctx.load_id],
        ).fetchone()[0]
        if not pending:
            continue
        retried += pending
        cols = list(EXTRACTS[kind].columns)
        extract_cols = ", ".join(f"json_extract_string(original, '$.{c}') AS {c}" for c in cols)
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _retry_raw AS SELECT quarantine_id AS _row, {extract_cols} "
                "FROM audit.quarantine WHERE kind = ? AND orphan_only AND resolved_by_load IS NULL "
                "AND load_id < ?",
                [kind, ctx.load_id],
            )
            typing.build_typed(con, kind, "_retry_raw")
            typed = typing.TYPED_TABLE
            key_match = " AND ".join(f"s.{c} IS NOT DISTINCT FROM t.{c}" for c in EXTRACTS[kind].key)
            # A key waiting in several versions (a corrected re-export of a row whose parent is still
            # missing): the latest one stands for it, the older ones are superseded by it. Without this
            # the versions met as a key conflict on every retry and none ever loaded.
            older = [r[0] for r in con.execute(
                f"""SELECT t._row FROM {typed} t JOIN audit.quarantine q ON q.quarantine_id = t._row
                    WHERE EXISTS (SELECT 1 FROM {typed} s JOIN audit.quarantine sq ON sq.quarantine_id = s._row
                                  WHERE {key_match} AND (sq.load_id, sq.quarantine_id) > (q.load_id, q.quarantine_id))"""
            ).fetchall()]
            if older:
                con.execute(f"DELETE FROM {typed} WHERE _row IN (SELECT unnest(?::BIGINT[]))", [older])
                con.execute("DELETE FROM _retry_raw WHERE _row IN (SELECT unnest(?::BIGINT[]))", [older])
            integrity.start_failures(con)
            integrity.check_repeats(con, kind, "_retry_raw", typed)
            suite_sql.evaluate(con, suites.suite(kind), typed, ctx.suite_parameters)
            validate.verify(con, kind, typed, ctx.suite_parameters, integrity.FAILURES_TABLE)
            integrity.check_references(con, kind, typed)
            # Superseded: the stored row with this key came from a later load (or a later file of the
            # same load) than the waiting one. A stored row from before it is the version it corrects:
            # the waiting row replaces it, and the stored one moves to the history.
            superseded = [r[0] for r in con.execute(
                f"""SELECT t._row FROM {typed} t JOIN audit.quarantine q ON q.quarantine_id = t._row
                    WHERE t._row NOT IN (SELECT _row FROM {integrity.FAILURES_TABLE})
                      AND EXISTS (SELECT 1 FROM raw.{kind} s WHERE {key_match}
                                  AND (s._load_id > q.load_id OR (s._load_id = q.load_id AND s._file > q.file)))"""
            ).fetchall()]
            integrity.add_failures(con, [(r, "superseded", "superseded") for r in superseded])
            # A row that still cannot load keeps waiting with what is wrong with it now: once its
            # parent is known, the rules that need the parent (the clinic's time zone) are checked too,
            # and a row that breaks one of them no longer waits for a parent (not orphan-only).
            con.execute(
                f"""UPDATE audit.quarantine q SET rule_ids = f.rule_ids, reasons = f.reasons, orphan_only = f.orphan_only
                    FROM (SELECT _row, list(DISTINCT rule_id ORDER BY rule_id) AS rule_ids,
                                 list(DISTINCT reason ORDER BY reason) AS reasons, bool_and(orphan) AS orphan_only
                          FROM {integrity.FAILURES_TABLE} WHERE rule_id <> 'superseded' GROUP BY _row) f
                    WHERE q.quarantine_id = f._row"""
            )
            superseded += older
            loaded, _ = apply.upsert(
                con, kind, typing.TYPED_TABLE, ctx.load_id,
                "(SELECT q.file FROM audit.quarantine q WHERE q.quarantine_id = t._row)",
                "(SELECT q.row_number FROM audit.quarantine q WHERE q.quarantine_id = t._row)",
                ctx.now,
            )
            con.execute(
                f"""UPDATE audit.quarantine SET resolved_by_load = ?, resolved_at = ?, resolution = 'loaded: its parent arrived'
                    WHERE kind = ? AND quarantine_id IN (SELECT _row FROM {typing.TYPED_TABLE})
                      AND quarantine_id NOT IN (SELECT _row FROM {integrity.FAILURES_TABLE})""",
                [ctx.load_id, ctx.now, kind],
            )
            if superseded:
                con.execute(
                    "UPDATE audit.quarantine SET resolved_by_load = ?, resolved_at = ?, "
                    "resolution = 'superseded: a later row with the same key was loaded' "
                    "WHERE quarantine_id IN (SELECT unnest(?::BIGINT[]))",
                    [ctx.load_id, ctx.now, sorted(set(superseded) - set(older))],
                )
                con.execute(
                    "UPDATE audit.quarantine SET resolved_by_load = ?, resolved_at = ?, "
                    "resolution = 'superseded: a later version of the row arrived' "
                    "WHERE quarantine_id IN (SELECT unnest(?::BIGINT[]))",
                    [ctx.load_id, ctx.now, older],
                )
            con.execute("DROP TABLE IF EXISTS _retry_raw")
            _drop_temp(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        resolved += loaded
        if loaded:
            ctx.say(f"{kind}: {loaded:,} quarantined orphan rows loaded now that their parent arrived")
    return retried, resolved


def _write_audit(ctx: _Context, report: LoadReport, batch: Path, started: dt.datetime, version: int | None,
                 model_seconds: float) -> None:
    con = ctx.con
    for f in report.files:
        con.execute(
            "INSERT INTO audit.files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [ctx.load_id, f.file, f.kind, f.status, f.sha256, f.bytes, f.rows_read, f.loaded, f.quarantined,
             f.duplicates, f.replaced, f.reason, f.dropped_identifier_columns, f.ignored_columns, f.seconds],
        )
    totals = {k: sum(getattr(f, k) for f in report.files if f.status == "loaded")
              for k in ("rows_read", "loaded", "quarantined", "duplicates", "replaced")}
    con.execute(
        "INSERT INTO audit.loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [ctx.load_id, batch.name or str(batch), started, dt.datetime.now(dt.UTC).replace(tzinfo=None), version,
         len(report.files), totals["rows_read"], totals["loaded"], totals["quarantined"], totals["duplicates"],
         totals["replaced"], len(report.rejected), report.orphans_retried, report.orphans_resolved,
         ctx.settings.max_broken_share, f"pipelines {__version__}"],
    )
