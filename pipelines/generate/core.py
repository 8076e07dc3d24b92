"""generate_batch: build a batch of extracts in the contract's format (see docs/sample-data.md)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.errors import PipelineError
from pipelines.generate import clinical, params as P, schedule, write
from pipelines.generate.clinics import close_on_holidays, make_clinics
from pipelines.generate.defects import Defect, Injector

FORMATS = ("csv.gz", "csv", "parquet")
KINDS = ("clinics", "patients", "sessions", "vitals", "assessments", "side_effects")
UNKNOWN_KIND_FILE = "billing_codes.csv"
COLUMNS = {
    "clinics": ["clinic_id", "clinic_name", "timezone", "chairs", "opens_at", "closes_at", "open_days", "valid_from"],
    "patients": ["patient_ref", "clinic_id", "birth_year", "sex", "primary_indication", "maoi", "lamotrigine",
                 "benzodiazepine", "opioid"],
    "sessions": ["session_id", "patient_ref", "clinic_id", "chair_id", "modality", "status", "scheduled_start",
                 "checkin_at", "treatment_start", "treatment_end", "discharge_at", "dose_mg", "weight_kg"],
    "vitals": ["session_id", "measured_at", "systolic_bp", "diastolic_bp", "heart_rate", "spo2", "respiratory_rate"],
    "assessments": ["assessment_id", "patient_ref", "assessed_at", "instrument", "score", "session_id", "item9"],
    "side_effects": ["session_id", "effect", "severity", "onset_min", "intervention"],
}
SESSION_CHUNK = 400_000  # session rows rendered at a time
VITALS_CHUNK = 100_000  # treated sessions whose vitals are generated at a time


class GenerateError(PipelineError):
    """The generator cannot run as asked (bad argument, unusable output folder)."""


@dataclass
class GenerateSummary:
    out_dir: Path
    start: date
    end: date  # first day after the period; every timestamp is before it
    clinics: int
    months: int
    seed: int
    defects: bool
    fmt: str
    files: dict[str, int] = field(default_factory=dict)  # file name -> data rows written (header excluded)
    defects_injected: list[Defect] = field(default_factory=list)
    defects_skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, kind) too big for a tiny file
    stats: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    holidays_kept: dict[str, tuple[str, ...]] = field(default_factory=dict)  # clinic_id -> holidays it closes on

    def rows(self, kind: str) -> int:
        """Rows over every file of one kind (e.g. vitals.csv.gz + vitals-part2.csv.gz)."""
        return sum(n for name, n in self.files.items() if name.startswith(kind))

    def broken_rows(self, file: str | None = None) -> int:
        """Rows the loader should quarantine (injected broken rows plus orphaned children)."""
        return sum(d.rows for d in self.defects_injected if d.broken and (file is None or d.file == file))

    def duplicate_rows(self, file: str | None = None) -> int:
        """Exact repeats of another row of the same file (the loader counts them as duplicates)."""
        return sum(d.rows for d in self.defects_injected
                   if d.kind == "exact_duplicate" and (file is None or d.file == file))

    def to_text(self) -> str:
        lines = [f"generated {self.out_dir} ({self.clinics} clinics, {self.months} months from {self.start}, "
                 f"seed {self.seed}{', with defects' if self.defects else ''}) in {self.seconds:.1f}s"]
        width = max(len(n) for n in self.files)
        for name, n in self.files.items():
            lines.append(f"  {name:<{width}}  {n:>11,} rows")
        s = self.stats
        lines.append(f"  period {self.start} .. {self.end} (exclusive); {int(s['patients']):,} patients, "
                     f"{int(s['courses']):,} courses, {int(s['treated_sessions']):,} treated sessions, "
                     f"chair utilization {s['utilization']:.0%}")
        if self.holidays_kept:
            counts = {name: 0 for name in P.HOLIDAY_CLOSURE}
            for kept in self.holidays_kept.values():
                for name in kept:
                    counts[name] += 1
            closed = ", ".join(f"{name} {n}" for name, n in counts.items() if n) or "none"
            lines.append(f"  clinics closed on public holidays (of {len(self.holidays_kept)}): {closed}")
        if self.defects:
            broken = sum(1 for d in self.defects_injected if d.broken)
            lines.append(f"  defects: {broken} broken-row injections, {self.broken_rows():,} broken rows "
                         f"(+ orphaned children), see docs/sample-data.md")
        return "\n".join(lines)


def add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    import calendar

    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _file_names(fmt: str, defects: bool) -> dict[str, str]:
    ext = {"csv.gz": ".csv.gz", "csv": ".csv", "parquet": ".parquet"}[fmt]
    names = {kind: kind + ext for kind in KINDS}
    if fmt == "csv.gz":
        names["clinics"] = "clinics.csv"  # a few rows: plain text, as clinic networks usually send it
    if defects:
        names["vitals_part2"] = "vitals-part2" + ext
        names["unknown"] = UNKNOWN_KIND_FILE
    return names


def _prepare_out(out: Path, names: dict[str, str]) -> None:
    if out.exists() and not out.is_dir():
        raise GenerateError(f"--out {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenerateError(f"cannot create --out {out}: {exc.strerror or exc}") from None
    ours = set(names.values())
    stale = sorted(p.name for p in out.iterdir()
                   if p.name not in ours and p.name.lower().startswith(KINDS + ("billing_codes",)))
    if stale:
        raise GenerateError(f"{out} already holds extract files this run would not overwrite ({', '.join(stale)}); "
                            "remove them or choose another folder")


def _refs(rng: np.random.Generator, n: int) -> pl.Series:
    """Unique EHR-style patient ids: EHR-<7 digits>."""
    draws = rng.integers(1_000_000, 10_000_000, size=int(n * 1.3) + 64)
    _, first = np.unique(draws, return_index=True)
    unique = draws[np.sort(first)][:n]
    while len(unique) < n:  # practically never
        more = rng.integers(1_000_000, 10_000_000, size=n)
        unique = np.unique(np.r_[unique, more])[:n]
    return write.prefixed("EHR-", unique, 7)


def generate_batch(out_dir, clinics: int = 3, months: int = 12, start: date = date(2025, 1, 1), seed: int = 0,
                   defects: bool = False, fmt: str = "csv.gz", holidays: bool = True) -> GenerateSummary:
    """Write a batch of extracts (clinics, patients, sessions, vitals, assessments, side_effects) for
    `clinics` clinics over `months` months from `start`, deterministic by `seed`. With `holidays=False`
    no clinic closes on a public holiday (a calendar of open weekdays only, e.g. for a test that makes its
    own closures)."""
    t0 = time.perf_counter()
    if not isinstance(clinics, int) or clinics < 1:
        raise GenerateError(f"clinics must be a whole number >= 1, not {clinics!r}")
    if not isinstance(months, int) or months < 1:
        raise GenerateError(f"months must be a whole number >= 1, not {months!r}")
    if not isinstance(seed, int) or seed < 0:
        raise GenerateError(f"seed must be a whole number >= 0, not {seed!r}")
    if fmt not in FORMATS:
        raise GenerateError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if not isinstance(start, date):
        raise GenerateError(f"start must be a date, not {start!r}")
    end = add_months(start, months)
    days = (end - start).days
    out = Path(out_dir)
    names = _file_names(fmt, defects)
    _prepare_out(out, names)
    summary = GenerateSummary(out_dir=out, start=start, end=end, clinics=clinics, months=months, seed=seed,
                              defects=defects, fmt=fmt)

    seq = np.random.SeedSequence(seed)
    streams = dict(zip(["clinics", "demand", "patients", "courses", "booking", "placement", "sessions",
                        "effects", "assess", "render", "defects", "ids", "holidays"], seq.spawn(13)))
    rng = {k: np.random.default_rng(v) for k, v in streams.items()}

    clinic_rows, cal = make_clinics(clinics, start, days, rng["clinics"])
    # Opening windows by the clinics rows alone, holidays included: utilization's denominator in metrics.md
    # (the extract has no calendar, so a closed holiday counts as available chair time there too).
    scheduled_units = cal.window_units.copy()
    if holidays:
        summary.holidays_kept = close_on_holidays(cal, rng["holidays"])
    arrival_clinic, arrival_day = schedule.arrivals(cal, rng["demand"])
    patients = schedule.make_patients(arrival_clinic, arrival_day, rng["patients"])
    courses = schedule.make_courses(patients, arrival_day, rng["courses"])
    bookings = schedule.simulate(cal, courses, rng["booking"])
    bookings = schedule.place_in_day(cal, bookings, courses, patients, rng["placement"])
    order = np.lexsort((bookings.chair, bookings.clinic, bookings.start_min, bookings.day))
    for name in ("course", "clinic", "day", "chair", "status", "k", "start_min", "units"):
        setattr(bookings, name, getattr(bookings, name)[order])
    treated = clinical.session_details(bookings, courses, patients, rng["sessions"])

    injector = Injector(rng["defects"], future_year=end.year + 27) if defects else None
    refs = _refs(rng["ids"], len(patients))
    tz_names = cal.timezones
    render = rng["render"]
    files = summary.files
    csv_like = fmt != "parquet"

    # ---- clinics
    cframe = pl.DataFrame({
        "clinic_id": [r.clinic_id for r in clinic_rows], "clinic_name": [r.clinic_name for r in clinic_rows],
        "timezone": [r.timezone for r in clinic_rows], "chairs": [str(r.chairs) for r in clinic_rows],
        "opens_at": [r.opens_at for r in clinic_rows], "closes_at": [r.closes_at for r in clinic_rows],
        "open_days": [",".join(r.open_days) for r in clinic_rows],
        "valid_from": [r.valid_from.isoformat() for r in clinic_rows],
    })
    if injector:
        cframe = injector.clinics(names["clinics"], cframe, start, end)
    files[names["clinics"]] = write.write_frame(out / names["clinics"], fmt if fmt != "csv.gz" else "csv", cframe)

    # ---- patients
    n_pat = len(patients)
    birth_year = start.year - patients.age.astype(np.int64) - (render.random(n_pat) < 0.5)
    flags = {name: write.labels(getattr(patients, name).astype(np.int64), ["false", "true"]).alias(name)
             for name in ("maoi", "lamotrigine", "benzodiazepine", "opioid")}
    pframe = pl.DataFrame({
        "patient_ref": refs,
        "clinic_id": write.labels(patients.clinic, cal.clinic_ids),
        "birth_year": write.ints(birth_year, render.random(n_pat) < 0.01),
        "sex": write.labels(np.where(render.random(n_pat) < 0.005, -1, patients.sex), P.SEX),
        "primary_indication": write.labels(patients.indication, P.INDICATIONS),
        **flags,
    })
    if injector:
        pframe = injector.patients(names["patients"], pframe, next_ref=10_000_000)
    files[names["patients"]] = write.write_frame(out / names["patients"], fmt, pframe)

    # ---- sessions
    nb = len(bookings)
    minutes = {c: np.full(nb, -1, dtype=np.int64) for c in ("checkin_at", "treatment_start", "treatment_end",
                                                          "discharge_at")}
    minutes["checkin_at"][treated.rows] = treated.checkin
    minutes["treatment_start"][treated.rows] = treated.start
    minutes["treatment_end"][treated.rows] = treated.end
    minutes["discharge_at"][treated.rows] = treated.discharge
    scheduled = bookings.day.astype(np.int64) * clinical.DAY + bookings.start_min
    dose = np.full(nb, np.nan)
    dose[treated.rows] = treated.dose
    weight = np.full(nb, np.nan)
    weight[treated.rows] = treated.weight
    is_treated = bookings.status <= schedule.STOPPED_EARLY
    chair_names = [f"C{i + 1:02d}" for i in range(64)]
    patient_of = courses.patient[bookings.course]
    modality = courses.modality[bookings.course]
    session_style = write.styles(render, nb)

    sw = write.TableWriter(out / names["sessions"], fmt, COLUMNS["sessions"]
                           + (["mrn", "booking_channel"] if injector else []))
    session_extra = None
    for lo in range(0, max(nb, 1), SESSION_CHUNK):
        hi = min(nb, lo + SESSION_CHUNK)
        sl = slice(lo, hi)
        st, tzi = session_style[sl], bookings.clinic[sl]
        frame = pl.DataFrame([
            write.prefixed("S-", np.arange(lo, hi) + 1, 8).alias("session_id"),
            refs.gather(patient_of[sl]).alias("patient_ref"),
            write.labels(bookings.clinic[sl], cal.clinic_ids).alias("clinic_id"),
            write.labels(np.where(is_treated[sl], bookings.chair[sl], -1), chair_names).alias("chair_id"),
            write.labels(modality[sl], P.MODALITIES).alias("modality"),
            write.labels(bookings.status[sl], schedule.STATUSES).alias("status"),
            write.timestamps(scheduled[sl], start, st, tzi, tz_names).alias("scheduled_start"),
            *[write.timestamps(minutes[c][sl], start, st, tzi, tz_names).alias(c) for c in minutes],
            write.decimals(dose[sl]).alias("dose_mg"),
            write.decimals(weight[sl]).alias("weight_kg"),
        ])
        if injector and lo == 0:
            frame, session_extra = injector.sessions(names["sessions"], frame, nb, next_session=nb + 1001)
        elif injector:
            frame = frame.with_columns(
                pl.Series("mrn", [f"MRN{v:07d}" for v in rng["defects"].integers(0, 10_000_000, frame.height)]),
                write.labels(rng["defects"].integers(0, 4, frame.height), ["phone", "online", "front desk",
                                                                            "referral portal"]).alias("booking_channel"))
        sw.write(frame)
    if session_extra is not None and session_extra.height:
        sw.write(session_extra)
    files[names["sessions"]] = sw.close()
    broken_bookings = np.array(sorted(int(s[2:]) - 1 for s in injector.broken_sessions), dtype=np.int64) \
        if injector else np.zeros(0, dtype=np.int64)
    unknown_session = f"S-{nb + 5000:08d}"

    # ---- vitals (chunked; the last 15% of sessions go to a second file with --defects)
    n_t = len(treated)
    max_sys = np.zeros(n_t, dtype=np.int16)
    max_dia = np.zeros(n_t, dtype=np.int16)
    split = int(n_t * 0.85) if injector else n_t
    bounds = sorted({0, n_t, split, *range(0, n_t, VITALS_CHUNK)})  # chunks never straddle the split
    writers = {"main": write.TableWriter(out / names["vitals"], fmt, COLUMNS["vitals"])}
    if injector:
        writers["part2"] = write.TableWriter(out / names["vitals_part2"], fmt, COLUMNS["vitals"])
    vitals_rows = 0
    cascade_vitals = {"main": 0, "part2": 0}
    vitals_extra = None
    treated_booking_is_broken = np.isin(treated.rows, broken_bookings)
    session_ids = write.prefixed("S-", np.arange(nb) + 1, 8)
    for chunk_i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        crng = np.random.default_rng(np.random.SeedSequence([seed, 101, chunk_i]))
        v = clinical.vitals_chunk(treated, lo, hi, crng)
        if len(v.session):
            starts = np.r_[0, np.flatnonzero(np.diff(v.session)) + 1]
            sess = v.session[starts]
            max_sys[sess] = np.maximum.reduceat(v.sys, starts)
            max_dia[sess] = np.maximum.reduceat(v.dia, starts)
        brow = treated.rows[v.session]
        target = "part2" if (injector and lo >= split) else "main"
        cascade_vitals[target] += int(treated_booking_is_broken[v.session].sum())
        frame = pl.DataFrame([
            session_ids.gather(brow).alias("session_id"),
            write.timestamps(v.at, start, write.styles(crng, len(brow)), bookings.clinic[brow], tz_names).alias("measured_at"),
            write.ints(v.sys).alias("systolic_bp"), write.ints(v.dia).alias("diastolic_bp"),
            write.ints(v.hr, v.hr < 0).alias("heart_rate"), write.ints(v.spo2, v.spo2 < 0).alias("spo2"),
            write.ints(v.rr, v.rr < 0).alias("respiratory_rate"),
        ])
        vitals_rows += frame.height
        if injector and chunk_i == 0:
            frame, vitals_extra = injector.vitals(names["vitals"], frame, n_t * 13, unknown_session)
        writers[target].write(frame)
    if vitals_extra is not None and vitals_extra.height:  # same file as the rows they copy
        writers["main"].write(vitals_extra)
    files[names["vitals"]] = writers["main"].close()
    if injector:
        files[names["vitals_part2"]] = writers["part2"].close()
        injector.note(names["vitals_part2"], "second_part", files[names["vitals_part2"]], False,
                      "vitals of the last 15% of sessions in a second file of the same kind")

    # ---- assessments
    a = clinical.assessments(bookings, treated, courses, patients, days, rng["assess"])
    na = len(a.patient)
    a_tz = a.clinic
    aframe = pl.DataFrame([
        write.prefixed("A-", np.arange(na) + 1, 8).alias("assessment_id"),
        refs.gather(a.patient).alias("patient_ref"),
        write.timestamps(a.at, start, write.styles(render, na), a_tz, tz_names).alias("assessed_at"),
        write.labels(a.instrument, clinical.INSTRUMENTS).alias("instrument"),
        pl.select(pl.when(pl.Series(a.instrument == clinical.INSTRUMENTS.index("PAIN_NRS")))
                  .then(write.decimals(a.score, 1)).otherwise(write.ints(np.rint(a.score)))).to_series().alias("score"),
        write.blank(write.prefixed("S-", np.maximum(a.booking, 0) + 1, 8), a.booking < 0).alias("session_id"),
        write.ints(a.item9, a.item9 < 0).alias("item9"),
    ])
    cascade_assess = int(np.isin(a.booking, broken_bookings).sum()) if injector else 0
    if injector:
        aframe = injector.assessments(names["assessments"], aframe, next_id=na + 1001, unknown_session=unknown_session)
    files[names["assessments"]] = write.write_frame(out / names["assessments"], fmt, aframe)

    # ---- side effects
    se = clinical.side_effects(treated, bookings, max_sys, max_dia, rng["effects"])
    se_rows = treated.rows[se.session]
    eframe = pl.DataFrame([
        write.prefixed("S-", se_rows + 1, 8).alias("session_id"),
        write.labels(se.effect, P.EFFECTS).alias("effect"),
        write.labels(se.severity, clinical.SEVERITIES).alias("severity"),
        write.ints(se.onset, se.onset == -9999).alias("onset_min"),
        write.labels(se.intervention, clinical.INTERVENTIONS).alias("intervention"),
    ])
    cascade_effects = int(np.isin(se_rows, broken_bookings).sum()) if injector else 0
    raw_lines = None
    if injector:
        eframe, raw_lines = injector.side_effects(names["side_effects"], eframe, unknown_session, csv_like)
    files[names["side_effects"]] = write.write_frame(out / names["side_effects"], fmt, eframe, raw_lines=raw_lines)

    # ---- with defects: an unknown kind, and the children of broken sessions
    if injector:
        pick = np.sort(rng["defects"].choice(n_t, size=min(n_t, 2000), replace=False)) if n_t else np.zeros(0, int)
        mod = treated.modality[pick]
        code = np.where(mod == P.ESK, np.where(treated.dose[pick] > 56, "G2083", "G2082"),
                        np.where(mod == P.IM, "96372", "96365"))
        bframe = pl.DataFrame({
            "session_id": write.prefixed("S-", treated.rows[pick] + 1, 8),
            "cpt_code": pl.Series(code, dtype=pl.String),
            "units": pl.Series(np.ones(len(pick), dtype=np.int64)).cast(pl.String),
            "charge_usd": write.decimals(np.where(mod == P.ESK, 590.0, np.where(mod == P.IM, 350.0, 475.0)), 2),
        })
        files[names["unknown"]] = write.write_frame(out / names["unknown"], "csv", bframe)
        injector.note(names["unknown"], "unknown_kind_file", bframe.height, False, "billing codes: not a contract kind")
        for file, count in ((names["vitals"], cascade_vitals["main"]),
                            (names["vitals_part2"], cascade_vitals["part2"]), (names["assessments"], cascade_assess),
                            (names["side_effects"], cascade_effects)):
            injector.note(file, "orphan_cascade", count, True, "rows of sessions whose session row is broken")
        summary.defects_injected = injector.records
        summary.defects_skipped = injector.skipped

    # ---- figures for the summary
    occupied = float((treated.discharge - treated.checkin).sum())
    available = float((cal.chairs.astype(np.int64) * scheduled_units * 15).sum())
    status_counts = np.bincount(bookings.status, minlength=4)
    summary.stats = {
        "patients": float(n_pat),
        "courses": float(len(np.unique(bookings.course[is_treated]))),
        "bookings": float(nb),
        "treated_sessions": float(n_t),
        "no_show_share": float(status_counts[schedule.NO_SHOW] / max(1, nb)),
        "cancelled_share": float(status_counts[schedule.CANCELLED] / max(1, nb)),
        "stopped_early_share": float(status_counts[schedule.STOPPED_EARLY] / max(1, nb)),
        "vitals_rows": float(vitals_rows),
        "utilization": occupied / available if available else 0.0,
    }
    summary.seconds = time.perf_counter() - t0
    return summary
