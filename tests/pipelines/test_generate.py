"""The sample-data generator: format, determinism, realism targets, defects, command line.

The realism checks recompute the figures from the written files with the definitions of
/work/shared/contract/metrics.md (courses, induction, baseline / follow-up windows, ...) in polars, so
they test what a reader of the files sees, not the generator's internals.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from pipelines.generate import GenerateError, generate_batch

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_COLUMNS = {
    "clinics": ["clinic_id", "clinic_name", "timezone", "chairs", "opens_at", "closes_at", "open_days", "valid_from"],
    "patients": ["patient_ref", "clinic_id", "birth_year", "sex", "primary_indication", "maoi", "lamotrigine",
                 "benzodiazepine", "opioid"],
    "sessions": ["session_id", "patient_ref", "clinic_id", "chair_id", "modality", "status", "scheduled_start",
                 "checkin_at", "treatment_start", "treatment_end", "discharge_at", "dose_mg", "weight_kg"],
    "vitals": ["session_id", "measured_at", "systolic_bp", "diastolic_bp", "heart_rate", "spo2", "respiratory_rate"],
    "assessments": ["assessment_id", "patient_ref", "assessed_at", "instrument", "score", "session_id", "item9"],
    "side_effects": ["session_id", "effect", "severity", "onset_min", "intervention"],
}
KINDS = list(CONTRACT_COLUMNS)
TREATED = ["completed", "stopped_early"]


# ------------------------------------------------------------------------------------------------
# Reading a generated batch back, the way the contract describes the files.

def read_kind(folder: Path, kind: str) -> pl.DataFrame:
    """All files of one kind as text columns (contract columns only), concatenated."""
    frames = []
    for path in sorted(folder.iterdir()):
        if not path.name.startswith(kind):
            continue
        if path.name.endswith(".parquet"):
            frame = pl.read_parquet(path)
        else:
            frame = pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True)
        frames.append(frame.select(CONTRACT_COLUMNS[kind]))
    return pl.concat(frames) if frames else pl.DataFrame()


def parse_ts(values: pl.Series, zones: pl.Series) -> pl.Series:
    """Contract timestamps -> naive clinic wall-clock datetimes (null when unparseable)."""
    naive = pl.select(pl.coalesce(
        values.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M", strict=False),
        values.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S", strict=False),
        values.str.strptime(pl.Datetime("us"), "%m/%d/%Y %H:%M", strict=False),
    )).to_series()
    offset = values.str.contains(r"(Z|[+-]\d\d:\d\d)$").fill_null(False)
    if offset.any():
        idx = np.flatnonzero(offset.to_numpy())
        conv = []
        for text, zone in zip(values.gather(idx).to_list(), zones.gather(idx).to_list()):
            when = datetime.fromisoformat(text).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
            conv.append(when)
        naive = naive.scatter(idx, pl.Series(conv, dtype=pl.Datetime("us")))
    return naive


class Batch:
    """Parsed, valid rows of a generated batch (enumerations normalised as the loader would)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.raw = {kind: read_kind(folder, kind) for kind in KINDS}
        clinics = self.raw["clinics"]
        self.clinics = clinics
        zone_of = dict(zip(clinics["clinic_id"], clinics["timezone"]))
        s = self.raw["sessions"].with_columns(
            pl.col("status").str.strip_chars().str.to_lowercase(),
            pl.col("modality").str.strip_chars().str.to_lowercase(),
            pl.col("clinic_id").replace_strict(zone_of, default="UTC").alias("tz"),
        )
        for c in ("scheduled_start", "checkin_at", "treatment_start", "treatment_end", "discharge_at"):
            s = s.with_columns(parse_ts(s[c], s["tz"]).alias(c))
        s = s.with_columns(pl.col("dose_mg").cast(pl.Float64, strict=False),
                           pl.col("weight_kg").cast(pl.Float64, strict=False),
                           pl.when(pl.col("modality") == "esketamine_nasal").then(pl.lit("esketamine"))
                           .otherwise(pl.lit("ketamine")).alias("family"))
        self.sessions = s.unique("session_id", keep="first", maintain_order=True)
        tz_of_session = self.sessions.select("session_id", "tz", "clinic_id")
        v = self.raw["vitals"].join(tz_of_session, on="session_id", how="inner")
        v = v.with_columns(parse_ts(v["measured_at"], v["tz"]).alias("measured_at"),
                           *[pl.col(c).cast(pl.Int64, strict=False) for c in
                             ("systolic_bp", "diastolic_bp", "heart_rate", "spo2", "respiratory_rate")])
        self.vitals = v
        home = self.raw["patients"].select("patient_ref", pl.col("clinic_id").alias("home"))
        a = self.raw["assessments"].join(home, on="patient_ref", how="left").with_columns(
            pl.col("home").replace_strict(zone_of, default="UTC").alias("tz"),
            pl.col("instrument").str.strip_chars().str.to_uppercase(),
            pl.col("score").cast(pl.Float64, strict=False),
        )
        self.assessments = a.with_columns(parse_ts(a["assessed_at"], a["tz"]).alias("assessed_at"))
        self.side_effects = self.raw["side_effects"].with_columns(
            pl.col("effect").str.strip_chars().str.to_lowercase())

    def treated(self) -> pl.DataFrame:
        return self.sessions.filter(pl.col("status").is_in(TREATED) & pl.col("treatment_start").is_not_null())

    def courses(self) -> pl.DataFrame:
        """Treated sessions with course id and session number k (metrics.md: courses and phases)."""
        t = self.treated().sort("patient_ref", "family", "treatment_start")
        t = t.with_columns(
            (pl.col("treatment_start") - pl.col("treatment_start").shift(1).over("patient_ref", "family"))
            .alias("gap"))
        t = t.with_columns(((pl.col("gap").is_null()) | (pl.col("gap") > timedelta(days=180)))
                           .cast(pl.Int64).cum_sum().over("patient_ref", "family").alias("course_no"))
        t = t.with_columns(pl.concat_str("patient_ref", "family", "course_no", separator="|").alias("course"))
        t = t.with_columns(pl.int_range(1, pl.len() + 1).over("course").alias("k"),
                           pl.when(pl.col("family") == "esketamine").then(8).otherwise(6).alias("ind_len"))
        return t

    def course_table(self) -> pl.DataFrame:
        c = self.courses()
        return c.group_by("course", maintain_order=True).agg(
            pl.col("patient_ref").first(), pl.col("family").first(), pl.col("clinic_id").first(),
            pl.col("treatment_start").min().alias("course_start"),
            pl.col("treatment_start").filter(pl.col("k") <= pl.col("ind_len")).max().alias("induction_end"),
            pl.col("k").filter(pl.col("k") <= pl.col("ind_len")).max().alias("n_induction"),
            pl.col("k").max().alias("n_treated"), pl.col("ind_len").first(),
        )

    def outcomes(self, instrument: str = "PHQ9", minimum: float = 10) -> pl.DataFrame:
        ct = self.course_table()
        a = self.assessments.filter((pl.col("instrument") == instrument) & pl.col("score").is_not_null()
                                    & pl.col("assessed_at").is_not_null())
        a = a.select("patient_ref", "assessed_at", "score").sort("assessed_at")
        j = ct.join(a, on="patient_ref", how="inner")
        base = (j.filter((pl.col("assessed_at") >= pl.col("course_start") - timedelta(days=30))
                         & (pl.col("assessed_at") <= pl.col("course_start")))
                .group_by("course").agg(pl.col("score").last().alias("baseline")))
        follow = (j.filter((pl.col("assessed_at") > pl.col("course_start"))
                           & (pl.col("assessed_at") <= pl.col("induction_end") + timedelta(days=14)))
                  .group_by("course").agg(pl.col("score").last().alias("follow_up")))
        out = ct.join(base, on="course", how="left").join(follow, on="course", how="left")
        return out.with_columns(
            (pl.col("baseline").is_not_null() & pl.col("follow_up").is_not_null()
             & (pl.col("baseline") >= minimum)).alias("evaluable"),
            ((pl.col("baseline") - pl.col("follow_up")) / pl.col("baseline")).alias("drop"),
        )


def rates(outcomes: pl.DataFrame) -> tuple[int, float, float]:
    ev = outcomes.filter("evaluable")
    return ev.height, float((ev["drop"] >= 0.5).mean()), float((ev["follow_up"] <= 4).mean())


# ------------------------------------------------------------------------------------------------
# Batches shared by the tests (module scope: generated once).

@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("small")
    return out, generate_batch(out, clinics=2, months=4, seed=7)


@pytest.fixture(scope="module")
def mid(tmp_path_factory) -> tuple[Batch, object]:
    out = tmp_path_factory.mktemp("mid")
    summary = generate_batch(out, clinics=4, months=12, seed=11)
    return Batch(out), summary


@pytest.fixture(scope="module")
def defective(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("defects")
    return out, generate_batch(out, clinics=3, months=6, seed=3, defects=True)


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# ------------------------------------------------------------------------------------------------
# Format and determinism

def test_same_arguments_give_byte_identical_files(small, tmp_path):
    out, _ = small
    generate_batch(tmp_path, clinics=2, months=4, seed=7)
    assert digest(tmp_path) == digest(out)


def test_another_seed_gives_other_data(small, tmp_path):
    out, _ = small
    generate_batch(tmp_path, clinics=2, months=4, seed=8)
    assert digest(tmp_path)["sessions.csv.gz"] != digest(out)["sessions.csv.gz"]


def test_gzip_header_has_no_timestamp_or_name(small):
    out, _ = small
    head = (out / "vitals.csv.gz").read_bytes()[:10]
    assert head[:2] == b"\x1f\x8b"
    assert head[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    assert head[3] & 0x08 == 0  # no file name stored


def test_file_set_headers_and_row_counts(small):
    out, summary = small
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["clinics.csv", "patients.csv.gz", "sessions.csv.gz", "vitals.csv.gz",
                            "assessments.csv.gz", "side_effects.csv.gz"])
    for name in names:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(out / name, "rt", encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        kind = next(k for k in KINDS if name.startswith(k))
        assert rows[0] == CONTRACT_COLUMNS[kind], name
        assert all(len(r) == len(rows[0]) for r in rows[1:]), name
        assert len(rows) - 1 == summary.files[name] > 0, name


@pytest.mark.parametrize("fmt,ext", [("csv", ".csv"), ("parquet", ".parquet")])
def test_other_formats_hold_the_same_rows(small, tmp_path, fmt, ext):
    out, _ = small
    generate_batch(tmp_path, clinics=2, months=4, seed=7, fmt=fmt)
    assert (tmp_path / f"sessions{ext}").exists() and (tmp_path / f"clinics{ext}").exists()
    for kind in KINDS:
        assert read_kind(tmp_path, kind).equals(read_kind(out, kind)), kind


def test_identifiers_and_values_look_like_the_contract(small):
    out, _ = small
    b = Batch(out)
    assert b.raw["patients"]["patient_ref"].str.contains(r"^EHR-\d{7}$").all()
    assert b.raw["patients"]["patient_ref"].is_unique().all()
    treated = b.treated()
    assert treated["chair_id"].str.contains(r"^C\d{2}$").all()
    untreated = b.sessions.filter(~pl.col("status").is_in(TREATED))
    assert untreated.height > 0
    for c in ("chair_id", "checkin_at", "treatment_start", "treatment_end", "discharge_at", "dose_mg", "weight_kg"):
        assert untreated[c].null_count() == untreated.height, c
    assert untreated["scheduled_start"].null_count() == 0
    assert set(b.raw["patients"]["primary_indication"]) <= {
        "mdd", "bipolar_depression", "postpartum_depression", "suicidal_ideation", "gad", "ocd", "ptsd",
        "fibromyalgia", "chronic_pain", "substance_use", "other"}


def test_timestamp_styles_are_mixed_but_all_valid_and_offsets_name_the_same_instant(mid):
    b, _ = mid
    raw = b.raw["sessions"]["scheduled_start"]
    iso_space = raw.str.contains(r"^\d{4}-\d\d-\d\d \d\d:\d\d$")
    assert 0.9 < iso_space.mean() < 0.99
    assert raw.str.contains(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$").any()
    assert raw.str.contains(r"^\d\d/\d\d/\d{4} \d\d:\d\d$").any()
    assert raw.str.contains(r"Z$").any() and raw.str.contains(r"[+-]\d\d:\d\d$").any()
    assert b.sessions["scheduled_start"].null_count() == 0  # every style parses
    # An offset timestamp converted to clinic time lands on the 15-minute booking grid like the rest.
    with_offset = raw.str.contains(r"(Z|[+-]\d\d:\d\d)$")
    minutes = b.sessions.filter(with_offset.to_numpy())["scheduled_start"].dt.minute()
    assert (minutes % 15 == 0).all()


def test_nothing_after_the_end_of_the_period(mid):
    b, summary = mid
    end = datetime(summary.end.year, summary.end.month, summary.end.day)
    start = datetime(summary.start.year, summary.start.month, summary.start.day)
    for frame, cols in ((b.sessions, ["scheduled_start", "checkin_at", "treatment_start", "treatment_end",
                                      "discharge_at"]), (b.vitals, ["measured_at"]), (b.assessments, ["assessed_at"])):
        for c in cols:
            assert frame[c].max() < end, c
            assert frame[c].min() >= start, c
    assert max(date.fromisoformat(d) for d in b.clinics["valid_from"]) < summary.end


# ------------------------------------------------------------------------------------------------
# Clinics, capacity, timing

def test_clinics_differ_and_one_changes_capacity(mid):
    b, _ = mid
    c = b.clinics
    assert c["clinic_id"].n_unique() == 4
    assert c["timezone"].n_unique() >= 3
    assert c.select("opens_at", "closes_at").unique().height >= 3
    assert c["open_days"].n_unique() >= 2
    chairs = c.with_columns(pl.col("chairs").cast(pl.Int64))
    assert chairs["chairs"].is_between(3, 12).all()
    in_period = chairs.filter(pl.col("valid_from") > "2025-01-01")
    assert in_period.height >= 1


def _clinic_day_rules(b: Batch) -> pl.DataFrame:
    """Each treated session with the clinics row valid on its day."""
    c = b.clinics.with_columns(pl.col("valid_from").str.to_date(), pl.col("chairs").cast(pl.Int64)).sort("valid_from")
    t = b.treated().with_columns(pl.col("scheduled_start").dt.date().alias("day")).sort("day")
    return t.join_asof(c, left_on="day", right_on="valid_from", by="clinic_id", strategy="backward", check_sortedness=False)


def test_sessions_fit_opening_hours_chairs_and_never_overlap(mid):
    b, _ = mid
    t = _clinic_day_rules(b)
    open_ = pl.col("day").cast(pl.Datetime("us")) + pl.duration(
        hours=pl.col("opens_at").str.slice(0, 2).cast(pl.Int64), minutes=pl.col("opens_at").str.slice(3, 2).cast(pl.Int64))
    close = pl.col("day").cast(pl.Datetime("us")) + pl.duration(
        hours=pl.col("closes_at").str.slice(0, 2).cast(pl.Int64), minutes=pl.col("closes_at").str.slice(3, 2).cast(pl.Int64))
    t = t.with_columns(open_.alias("open"), close.alias("close"),
                       pl.col("day").dt.strftime("%a").alias("weekday"))
    assert (t["checkin_at"] >= t["open"]).all() and (t["discharge_at"] <= t["close"]).all()
    assert all(wd in days.split(",") for wd, days in zip(t["weekday"], t["open_days"]))
    assert (t["chair_id"].str.slice(1).cast(pl.Int64) <= t["chairs"]).all()
    order = (pl.col("checkin_at") >= pl.col("scheduled_start") - timedelta(minutes=0)) & (
        pl.col("checkin_at") <= pl.col("treatment_start")) & (pl.col("treatment_start") <= pl.col("treatment_end")) & (
        pl.col("treatment_end") <= pl.col("discharge_at"))
    assert t.select(order.all()).item()
    o = t.sort("clinic_id", "chair_id", "checkin_at").with_columns(
        pl.col("discharge_at").shift(1).over("clinic_id", "chair_id").alias("prev_discharge"))
    assert o.filter(pl.col("prev_discharge") > pl.col("checkin_at")).height == 0


def test_clinics_close_on_the_public_holidays_they_keep(mid):
    """Every clinic keeps Thanksgiving, Christmas Day and New Year's Day, and draws the other major holidays
    (summary.holidays_kept). Nothing at all is booked on a kept holiday (no session of any status), while
    the same weekday a week earlier is busy; a minor holiday (Veterans Day) is an ordinary day."""
    b, summary = mid
    assert set(summary.holidays_kept) == set(b.clinics["clinic_id"])
    always = {"New Year's Day", "Thanksgiving", "Christmas Day"}
    assert all(always <= set(kept) for kept in summary.holidays_kept.values())
    booked = b.sessions.with_columns(pl.col("scheduled_start").dt.date().alias("day")).group_by(
        "clinic_id", "day").len()
    count = {(c, d): n for c, d, n in booked.iter_rows()}
    dates = {"New Year's Day": date(2025, 1, 1), "Memorial Day": date(2025, 5, 26),
             "Independence Day": date(2025, 7, 4), "Labor Day": date(2025, 9, 1),
             "Thanksgiving": date(2025, 11, 27), "Christmas Day": date(2025, 12, 25)}
    open_days = {c: days.split(",") for c, days in b.clinics.select("clinic_id", "open_days").iter_rows()}
    checked = 0
    for clinic, kept in summary.holidays_kept.items():
        for name in kept:
            assert count.get((clinic, dates[name]), 0) == 0, (clinic, name)
            if dates[name].strftime("%a") not in open_days[clinic]:
                continue  # closed that weekday anyway
            if name != "New Year's Day":  # the period's first day has no week before
                assert count.get((clinic, dates[name] - timedelta(days=7)), 0) > 0, (clinic, name)
            checked += 1
    assert checked >= 8
    veterans = date(2025, 11, 11)  # a Tuesday: every clinic template opens on Tuesdays
    assert all(count.get((clinic, veterans), 0) > 0 for clinic in summary.holidays_kept)
    open_anyway = [(c, n) for n in dates for c, kept in summary.holidays_kept.items() if n not in kept
                   and count.get((c, dates[n]), 0) > 0]
    assert all(n not in always for _, n in open_anyway)


def test_without_holidays_every_open_weekday_is_open(tmp_path):
    """holidays=False (for tests that make their own closures): no clinic keeps a holiday, and Thanksgiving is
    booked like any Thursday; with holidays, the same seed books nothing on it (local times only: an instant
    written in UTC can fall on another date)."""
    def thanksgiving_sessions(out: Path, **kwargs) -> tuple[int, dict]:
        summary = generate_batch(out, clinics=2, months=2, start=date(2025, 11, 1), seed=5, fmt="csv", **kwargs)
        sessions = pl.read_csv(out / "sessions.csv", infer_schema=False)
        return sessions.filter(pl.col("scheduled_start").str.contains(r"^(2025-11-27[ T][0-9:]+|11/27/2025 .*)$")).height, \
            summary.holidays_kept

    with_holidays, kept = thanksgiving_sessions(tmp_path / "with")
    without, none_kept = thanksgiving_sessions(tmp_path / "without", holidays=False)
    assert with_holidays == 0 and all("Thanksgiving" in k for k in kept.values())
    assert without > 0 and none_kept == {}


def test_chair_utilization_runs_around_65_to_80_percent(mid):
    b, summary = mid
    t = _clinic_day_rules(b).with_columns(
        ((pl.col("discharge_at") - pl.col("checkin_at")).dt.total_minutes()).alias("occupied"),
        pl.col("day").dt.strftime("%Y-%m").alias("month"))
    occupied = t.group_by("clinic_id", "month").agg(pl.col("occupied").sum())
    # available chair-minutes from the generator's calendar (clinic rows x open days)
    c = b.clinics.with_columns(pl.col("valid_from").str.to_date(), pl.col("chairs").cast(pl.Int64)).sort("valid_from")
    days = pl.DataFrame({"day": pl.date_range(summary.start, summary.end - timedelta(days=1), eager=True)})
    grid = days.join(c.select("clinic_id").unique(), how="cross").sort("day")
    grid = grid.join_asof(c, left_on="day", right_on="valid_from", by="clinic_id", strategy="backward", check_sortedness=False)
    grid = grid.filter(pl.struct("day", "open_days").map_elements(
        lambda r: r["day"].strftime("%a") in r["open_days"].split(","), return_dtype=pl.Boolean))
    minutes = (pl.col("closes_at").str.slice(0, 2).cast(pl.Int64) * 60 + pl.col("closes_at").str.slice(3, 2).cast(pl.Int64)
               - pl.col("opens_at").str.slice(0, 2).cast(pl.Int64) * 60 - pl.col("opens_at").str.slice(3, 2).cast(pl.Int64))
    available = grid.with_columns((pl.col("chairs") * minutes).alias("available"),
                                  pl.col("day").dt.strftime("%Y-%m").alias("month")
                                  ).group_by("clinic_id", "month").agg(pl.col("available").sum())
    u = occupied.join(available, on=["clinic_id", "month"]).with_columns(
        (pl.col("occupied") / pl.col("available")).alias("u"))
    assert u["u"].max() <= 1.0
    settled = u.filter(pl.col("month") > "2025-01")  # the first weeks fill up from empty
    assert 0.60 <= settled["u"].mean() <= 0.82, settled.sort("clinic_id", "month")
    assert settled["u"].quantile(0.1) >= 0.5
    assert abs(summary.stats["utilization"] - float(u["occupied"].sum() / u["available"].sum())) < 1e-9


def test_postpartum_patients_are_booked_late_in_the_day(mid):
    b, _ = mid
    pp = b.raw["patients"].filter(pl.col("primary_indication") == "postpartum_depression")["patient_ref"]
    t = _clinic_day_rules(b).with_columns(
        (pl.col("closes_at").str.slice(0, 2).cast(pl.Int64) * 60 + pl.col("closes_at").str.slice(3, 2).cast(pl.Int64)
         - pl.col("discharge_at").dt.hour().cast(pl.Int64) * 60
         - pl.col("discharge_at").dt.minute().cast(pl.Int64)).alias("before_close"))
    is_pp = t["patient_ref"].is_in(pp.implode())
    assert is_pp.sum() > 20
    assert t.filter(is_pp)["before_close"].median() <= 60
    assert t.filter(~is_pp)["before_close"].median() >= 150


def test_iv_sessions_take_40_minutes_and_about_90_door_to_door(mid):
    b, _ = mid
    iv = b.treated().filter((pl.col("modality") == "iv_ketamine") & (pl.col("status") == "completed"))
    infusion = (iv["treatment_end"] - iv["treatment_start"]).dt.total_minutes()
    door = (iv["discharge_at"] - iv["checkin_at"]).dt.total_minutes()
    assert infusion.is_between(38, 44).all()
    assert 80 <= door.median() <= 100
    assert ((iv["treatment_end"] - iv["treatment_start"]).dt.total_minutes() <= 360).all()
    mgkg = iv["dose_mg"] / iv["weight_kg"]
    assert (mgkg <= 3.0).all()
    assert 0.6 <= (mgkg.round(2) == 0.5).mean() <= 0.85
    assert ((mgkg >= 0.74) & (mgkg <= 1.0)).mean() > 0.1
    assert iv["weight_kg"].is_between(45, 160).all()


def test_esketamine_doses_and_two_hours_of_monitoring(mid):
    b, _ = mid
    esk = b.treated().filter(pl.col("modality") == "esketamine_nasal")
    assert esk.height > 100
    assert set(esk["dose_mg"].unique()) <= {28.0, 56.0, 84.0}
    assert (esk["dose_mg"] == 28).mean() < 0.1
    assert ((esk["discharge_at"] - esk["treatment_start"]).dt.total_minutes() >= 120).all()
    share = esk.height / b.treated().height
    assert 0.12 <= share <= 0.30


def test_induction_spacing(mid):
    b, summary = mid
    c = b.courses().sort("course", "k").with_columns(
        pl.col("treatment_start").dt.date().diff().over("course").dt.total_days().alias("days_apart"))
    assert c.filter(pl.col("days_apart") <= 1).height == 0  # never on consecutive days
    ct = b.course_table()
    done = ct.filter((pl.col("n_induction") == pl.col("ind_len")))
    span = (done["induction_end"] - done["course_start"]).dt.total_days()
    ket = done["family"] == "ketamine"
    assert span.filter(ket).median() <= 21  # 6 within about 3 weeks
    assert span.filter(~ket).median() <= 30  # 8 twice weekly: about 4 weeks
    esk = c.filter((pl.col("family") == "esketamine") & (pl.col("k") <= 8) & (pl.col("k") > 1))
    assert esk["days_apart"].is_between(3, 4).mean() > 0.65  # twice weekly, now and then moved
    assert esk["days_apart"].median() in (3, 4)


def test_boosters_are_28_to_168_days_apart_typically_4_to_6_weeks(mid):
    b, _ = mid
    c = b.courses().sort("course", "k").with_columns(
        pl.col("treatment_start").dt.date().diff().over("course").dt.total_days().alias("days_apart"))
    boosters = c.filter(pl.col("k") > pl.col("ind_len"))
    assert boosters.height > 50
    assert boosters["days_apart"].is_between(28, 168).mean() > 0.995
    assert 28 <= boosters["days_apart"].median() <= 42


def test_dropout_matches_orka2(mid):
    b, summary = mid
    ct = b.course_table()
    cutoff = datetime.combine(summary.end, datetime.min.time()) - timedelta(days=60)
    ket = ct.filter((pl.col("family") == "ketamine") & (pl.col("course_start") < cutoff))
    assert ket.height > 500
    not_six = (ket["n_induction"] < 6).mean()
    after_first = (ket["n_treated"] == 1).mean()
    assert 0.42 <= not_six <= 0.58, not_six
    assert 0.15 <= after_first <= 0.26, after_first


def test_some_patients_return_for_a_second_course(mid):
    b, _ = mid
    ct = b.course_table()
    per_patient = ct.group_by("patient_ref").len()
    assert (per_patient["len"] > 1).sum() > 5


def test_no_show_and_cancellation_shares(mid):
    b, _ = mid
    status = b.sessions["status"]
    assert 0.04 <= (status == "no_show").mean() <= 0.06
    assert 0.02 <= (status == "cancelled").mean() <= 0.04
    assert 0.003 <= (status == "stopped_early").mean() <= 0.03
    stopped = b.sessions.filter((pl.col("status") == "stopped_early") & (pl.col("modality") == "iv_ketamine"))
    assert ((stopped["treatment_end"] - stopped["treatment_start"]).dt.total_minutes() < 38).all()


def test_patient_mix(mid):
    b, _ = mid
    p = b.raw["patients"]
    ind = p["primary_indication"]
    assert (ind == "mdd").mean() > 0.5
    for flag, target in (("lamotrigine", 0.10), ("benzodiazepine", 0.25), ("opioid", 0.08), ("maoi", 0.01)):
        share = (p[flag] == "true").mean()
        assert abs(share - target) < max(0.03, target * 0.5), (flag, share)
    assert (p.filter(ind == "postpartum_depression")["sex"] == "F").all()


# ------------------------------------------------------------------------------------------------
# Vitals and safety

def test_vitals_every_5_to_15_minutes_from_checkin_to_discharge(mid):
    b, _ = mid
    v = b.vitals.sort("session_id", "measured_at")
    gaps = v.with_columns(pl.col("measured_at").diff().over("session_id").dt.total_minutes().alias("gap"))["gap"]
    gaps = gaps.drop_nulls()
    assert gaps.min() >= 1 and gaps.max() <= 15
    assert gaps.is_between(5, 15).mean() > 0.97
    t = b.treated().select("session_id", "checkin_at", "discharge_at")
    span = v.group_by("session_id").agg(pl.col("measured_at").min().alias("first"),
                                        pl.col("measured_at").max().alias("last")).join(t, on="session_id")
    assert ((span["first"] - span["checkin_at"]).dt.total_minutes().is_between(0, 4)).all()
    assert ((span["discharge_at"] - span["last"]).dt.total_minutes().is_between(0, 5)).all()
    assert (v["diastolic_bp"] < v["systolic_bp"]).all()
    assert v["spo2"].drop_nulls().is_between(95, 100).mean() > 0.95
    assert v.select(pl.col("systolic_bp").is_between(50, 300).all(), pl.col("heart_rate").drop_nulls().is_between(20, 250).all(),
                    pl.col("respiratory_rate").drop_nulls().is_between(4, 60).all()).row(0) == (True, True, True)


def test_blood_pressure_rise_peaks_near_minute_40(mid):
    b, _ = mid
    iv = b.treated().filter((pl.col("modality") == "iv_ketamine") & (pl.col("status") == "completed"))
    v = b.vitals.join(iv.select("session_id", "treatment_start"), on="session_id").sort("session_id", "measured_at")
    v = v.with_columns(
        (pl.col("systolic_bp") - pl.col("systolic_bp").first().over("session_id")).alias("d_sys"),
        (pl.col("diastolic_bp") - pl.col("diastolic_bp").first().over("session_id")).alias("d_dia"),
        ((pl.col("measured_at") - pl.col("treatment_start")).dt.total_minutes() // 5 * 5).alias("minute"))
    curve = v.group_by("minute").agg(pl.col("d_sys").mean(), pl.col("d_dia").mean(), pl.len()).filter(
        pl.col("len") > 200).sort("minute")
    peak = curve.sort("d_sys", descending=True)["minute"][0]
    assert 30 <= peak <= 45, curve
    at40 = curve.filter(pl.col("minute").is_between(35, 40))
    assert 13 <= at40["d_sys"].mean() <= 19, at40
    assert 8 <= at40["d_dia"].mean() <= 14, at40


def test_severe_blood_pressure_in_about_one_percent_of_sessions(mid):
    b, _ = mid
    per = b.vitals.group_by("session_id").agg(
        ((pl.col("systolic_bp") >= 180) | (pl.col("diastolic_bp") >= 110)).any().alias("high"))
    assert 0.004 <= per["high"].mean() <= 0.02, per["high"].mean()


def test_side_effect_frequencies(mid):
    b, _ = mid
    treated = b.treated()
    n = treated.height
    se = b.side_effects.join(treated.select("session_id"), on="session_id")
    assert se.select("session_id", "effect").is_duplicated().sum() == 0  # at most one row per (session, effect)
    share = {e: cnt / n for e, cnt in se.group_by("effect").len().iter_rows()}
    assert 0.40 <= share["dizziness"] <= 0.50
    assert 0.31 <= share["dissociation"] <= 0.42
    assert 0.10 <= share["nausea"] <= 0.16
    assert 0.09 <= share["headache"] <= 0.15
    assert 0.07 <= share["anxiety"] <= 0.13
    assert 0.025 <= share["hypertension"] <= 0.055
    assert all(share[e] < 0.07 for e in ("vomiting", "tachycardia", "blurred_vision", "sedation", "other"))
    sev = se["severity"].value_counts(normalize=True)
    assert dict(sev.iter_rows())["mild"] > 0.6
    inter = se.filter(pl.col("effect") == "nausea")["intervention"]
    assert (inter == "ondansetron").mean() > 0.3
    assert se["onset_min"].cast(pl.Int64).drop_nulls().is_between(-30, 600).all()
    stopped = treated.filter(pl.col("status") == "stopped_early")["session_id"]
    assert (se.filter(pl.col("session_id").is_in(stopped.implode()))["intervention"] == "infusion_stopped").sum() == stopped.len()


# ------------------------------------------------------------------------------------------------
# Assessments and outcomes

def test_assessment_rules(mid):
    b, _ = mid
    a = b.assessments
    ranges = {"PHQ9": 27, "GAD7": 21, "MADRS": 60, "PCL5": 80, "PAIN_NRS": 10}
    for inst, top in ranges.items():
        s = a.filter(pl.col("instrument") == inst)["score"]
        assert s.len() > 0, inst
        assert s.is_between(0, top).all(), inst
        if inst != "PAIN_NRS":
            assert (s == s.round()).all(), inst
    assert (a.filter(pl.col("instrument") == "PAIN_NRS")["score"] % 1 != 0).any()
    item9 = a.filter(pl.col("instrument") == "PHQ9")["item9"].cast(pl.Int64)
    assert item9.is_between(0, 3).all() and (item9 > 0).any()
    assert a.filter(pl.col("instrument") != "PHQ9")["item9"].null_count() == a.filter(pl.col("instrument") != "PHQ9").height
    linked = a["session_id"].is_not_null().mean()
    assert 0.5 <= linked < 0.95
    assert a.filter(pl.col("session_id").is_not_null())["session_id"].is_in(b.sessions["session_id"].implode()).all()
    assert a["assessment_id"].is_unique().all()


def test_assessment_schedule_baseline_early_and_after_induction(mid):
    b, _ = mid
    ct = b.course_table()
    c = b.courses()
    s2 = c.filter(pl.col("k") == 2).select("course", pl.col("treatment_start").alias("s2"))
    phq = b.assessments.filter(pl.col("instrument") == "PHQ9").select("patient_ref", "assessed_at")
    j = ct.join(s2, on="course", how="left").join(phq, on="patient_ref")
    baseline = j.filter((pl.col("assessed_at") <= pl.col("course_start"))
                        & (pl.col("assessed_at") >= pl.col("course_start") - timedelta(days=30)))
    assert baseline["course"].n_unique() / ct.height > 0.9
    same_day = baseline.filter(pl.col("assessed_at").dt.date() == pl.col("course_start").dt.date())
    assert same_day["course"].n_unique() / baseline["course"].n_unique() > 0.5
    early = j.filter(pl.col("s2").is_not_null() & (pl.col("assessed_at") > pl.col("s2"))
                     & (pl.col("assessed_at") <= pl.col("s2") + timedelta(hours=48)))
    hours = (early["assessed_at"] - early["s2"]).dt.total_hours()
    assert 16 <= hours.median() <= 32  # about 24 h after infusion 2
    done = ct.filter(pl.col("n_induction") == pl.col("ind_len"))
    after = j.filter(pl.col("course").is_in(done["course"].implode()) & (pl.col("assessed_at") > pl.col("induction_end"))
                     & (pl.col("assessed_at") <= pl.col("induction_end") + timedelta(days=14)))
    assert after["course"].n_unique() / done.height > 0.75


def test_response_and_remission_near_published_real_world_rates(mid):
    b, _ = mid
    out = b.outcomes("PHQ9", 10)
    n, response, remission = rates(out)
    assert n > 800
    assert 0.45 <= response <= 0.65, response  # McInnes 2022: 53.6%; Oliver 2022: 50%
    assert 0.20 <= remission <= 0.40, remission  # McInnes 2022: 28.9%; Oliver 2022: 20%
    assert out.filter(~pl.col("evaluable")).height > 0  # dropouts without follow-up exist


def test_interfering_medication_lowers_response(mid):
    b, _ = mid
    out = b.outcomes("PHQ9", 10).join(b.raw["patients"], on="patient_ref")
    on_med = (pl.col("lamotrigine") == "true") | (pl.col("benzodiazepine") == "true") | (pl.col("opioid") == "true")
    _, with_med, _ = rates(out.filter(on_med))
    _, without, _ = rates(out.filter(~on_med))
    assert with_med < without - 0.05


# ------------------------------------------------------------------------------------------------
# Defects

def test_no_defects_unless_asked(small):
    out, summary = small
    assert summary.defects_injected == []
    b = Batch(out)
    for kind in KINDS:
        keys = {"clinics": ["clinic_id", "valid_from"], "patients": ["patient_ref"], "sessions": ["session_id"],
                "vitals": ["session_id", "measured_at"], "assessments": ["assessment_id"],
                "side_effects": ["session_id", "effect"]}[kind]
        assert b.raw[kind].select(keys).is_duplicated().sum() == 0, kind
    assert b.raw["sessions"]["status"].is_in(["completed", "stopped_early", "cancelled", "no_show"]).all()
    assert b.sessions.filter(pl.col("status").is_in(TREATED))["treatment_start"].null_count() == 0
    assert b.raw["vitals"]["session_id"].is_in(b.raw["sessions"]["session_id"].implode()).all()
    assert b.raw["side_effects"]["session_id"].is_in(b.raw["sessions"]["session_id"].implode()).all()
    assert b.raw["sessions"]["patient_ref"].is_in(b.raw["patients"]["patient_ref"].implode()).all()


EXPECTED_BROKEN = {
    "clinics.csv": {"out_of_range"},
    "patients.csv.gz": {"missing_required", "bad_enum", "out_of_range", "orphan", "conflicting_key", "bad_boolean"},
    "sessions.csv.gz": {"missing_required", "bad_enum", "unparseable_timestamp", "future_timestamp",
                        "checkin_after_treatment_start", "treatment_over_6h", "ketamine_dose_over_3mgkg",
                        "esketamine_dose_70", "missing_weight_ketamine", "out_of_range", "orphan", "conflicting_key"},
    "vitals.csv.gz": {"out_of_range", "diastolic_not_below_systolic", "missing_required", "unparseable_timestamp",
                      "future_timestamp", "orphan", "conflicting_key", "orphan_cascade"},
    "assessments.csv.gz": {"out_of_range", "fractional_score", "item9_not_phq9", "bad_enum", "missing_required",
                           "orphan", "unparseable_timestamp", "future_timestamp", "conflicting_key"},
    "side_effects.csv.gz": {"bad_enum", "missing_required", "out_of_range", "orphan", "conflicting_key",
                            "malformed_line"},
}


def test_defects_of_every_kind_are_injected_and_recorded(defective):
    out, summary = defective
    names = {p.name for p in out.iterdir()}
    assert {"billing_codes.csv", "vitals-part2.csv.gz"} <= names
    broken = {}
    for d in summary.defects_injected:
        if d.broken:
            broken.setdefault(d.file, set()).add(d.kind)
    for file, kinds in EXPECTED_BROKEN.items():
        assert kinds <= broken.get(file, set()), (file, kinds - broken.get(file, set()))
    valid_noise = {(d.file, d.kind) for d in summary.defects_injected if not d.broken}
    for item in [("patients.csv.gz", "identifier_columns"), ("patients.csv.gz", "unknown_column"),
                 ("sessions.csv.gz", "identifier_columns"), ("sessions.csv.gz", "valid_messy_values"),
                 ("vitals.csv.gz", "exact_duplicate"), ("billing_codes.csv", "unknown_kind_file")]:
        assert item in valid_noise, item
    assert summary.defects_skipped == []


def test_defects_stay_well_under_the_rejection_threshold(defective):
    out, summary = defective
    for name, rows in summary.files.items():
        if name in ("clinics.csv", "billing_codes.csv"):
            continue
        share = summary.broken_rows(name) / rows
        assert share < 0.05, (name, share)
    assert summary.broken_rows("clinics.csv") / summary.files["clinics.csv"] <= 0.2


def test_defects_are_really_in_the_files(defective):
    out, summary = defective
    with gzip.open(out / "patients.csv.gz", "rt") as fh:
        header = next(csv.reader(fh))
    assert {"first_name", "last_name", "dob", "phone", "email", "referral_source"} <= set(header)
    with gzip.open(out / "sessions.csv.gz", "rt") as fh:
        header = next(csv.reader(fh))
    assert "mrn" in header
    with gzip.open(out / "side_effects.csv.gz", "rt", newline="") as fh:
        widths = [len(r) for r in csv.reader(fh)]
    assert widths.count(widths[0] + 1) == 1 and set(widths) == {widths[0], widths[0] + 1}
    raw = pl.read_csv(out / "vitals.csv.gz", infer_schema=False)
    part2 = pl.read_csv(out / "vitals-part2.csv.gz", infer_schema=False)
    vitals = pl.concat([raw, part2])
    assert (vitals["spo2"] == "101").any() and (vitals["systolic_bp"] == "400").any()
    assert vitals.is_duplicated().any()
    s = pl.read_csv(out / "sessions.csv.gz", infer_schema=False)
    assert (s["status"] == " Completed ").any() or (s["status"].str.contains("^[A-Z_]+$")).any()
    assert s["scheduled_start"].str.starts_with(str(summary.end.year + 27)).any()
    assert s.select("session_id").is_duplicated().any()
    a = pl.read_csv(out / "assessments.csv.gz", infer_schema=False)
    assert ((a["instrument"] == "PHQ9") & (a["score"] == "30")).any()
    assert ((a["instrument"] == "GAD7") & (a["score"] == "7.5")).any()
    assert ((a["instrument"] == "GAD7") & a["item9"].is_not_null()).any()


@pytest.mark.slow
def test_the_loader_quarantines_exactly_the_injected_defects(tmp_path):
    """Cross-check with the load command (contract interface): per file, rows read, quarantined and
    duplicates equal what the generator says it injected; no file is rejected."""
    batch = tmp_path / "batch"
    summary = generate_batch(batch, clinics=2, months=3, seed=3, defects=True)
    proc = subprocess.run([sys.executable, "-m", "pipelines", "load", str(batch), "--db", str(tmp_path / "w.duckdb"),
                           "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    report = {f["file"]: f for f in json.loads(proc.stdout)["files"]}
    assert set(report) == set(summary.files)
    assert report["billing_codes.csv"]["status"] == "skipped"
    for name, rows in summary.files.items():
        if name == "billing_codes.csv":
            continue
        got = report[name]
        assert got["status"] == "loaded", (name, got)
        assert (got["rows_read"], got["quarantined"], got["duplicates"]) == (
            rows, summary.broken_rows(name), summary.duplicate_rows(name)), name


def test_tiny_batches_skip_defects_that_would_break_too_many_rows(tmp_path):
    summary = generate_batch(tmp_path, clinics=1, months=1, seed=1, defects=True)
    assert summary.defects_skipped  # recorded, not silently dropped
    for name, rows in summary.files.items():
        if rows:
            assert summary.broken_rows(name) / rows <= 0.2, name


# ------------------------------------------------------------------------------------------------
# Library arguments and the command line

@pytest.mark.parametrize("kwargs", [{"clinics": 0}, {"months": 0}, {"seed": -1}, {"fmt": "xlsx"}])
def test_library_refuses_bad_arguments(tmp_path, kwargs):
    with pytest.raises(GenerateError):
        generate_batch(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_refuses_a_folder_with_other_extract_files(tmp_path):
    (tmp_path / "sessions_old.csv").write_text("session_id\n")
    with pytest.raises(GenerateError, match="sessions_old.csv"):
        generate_batch(tmp_path, clinics=1, months=1)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", "generate", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_cli_success_prints_files_and_rows(tmp_path):
    proc = _cli("--out", str(tmp_path / "b"), "--clinics", "1", "--months", "1", "--seed", "5")
    assert proc.returncode == 0, proc.stderr
    assert "sessions.csv.gz" in proc.stdout and "rows" in proc.stdout
    assert (tmp_path / "b" / "vitals.csv.gz").exists()


@pytest.mark.parametrize("args", [
    ["--clinics", "0"], ["--clinics", "three"], ["--months", "0"], ["--months", "-3"], ["--start", "2025-02-30"],
    ["--start", "yesterday"], ["--seed", "x"], ["--format", "xlsx"], [], ["--bogus"],
    ["--start", "0001-01-01"], ["--start", "9999-12-01"], ["--start", "1999-12-31"],  # overflowed: internal error
    ["--start", (date.today() + timedelta(days=1)).isoformat()],  # sessions in the future
    ["--out", ""],  # wrote into the current folder
])
def test_cli_bad_arguments_exit_2_with_one_line(tmp_path, args):
    full = (["--out", str(tmp_path / "b")] if args != [] else []) + args
    proc = _cli(*full)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "b").exists()


def test_default_period_is_the_last_whole_months_and_ends_by_today():
    """Without --start the README's `--months 24` ran from 2025-01-01 to 2026-12-31: past today, so the
    load quarantined every future row and their orphans. The default period now ends on the 1st of this month."""
    from pipelines.generate.cli import period_start
    from pipelines.generate.core import add_months

    today = date(2026, 11, 27)
    assert period_start(None, 24, today) == date(2024, 11, 1)
    assert add_months(period_start(None, 1, today), 1) == date(2026, 11, 1)
    assert period_start(date(2025, 1, 1), 22, today) == date(2025, 1, 1)  # ends 2026-11-01: kept


def test_an_explicit_period_past_today_is_refused_with_the_latest_start():
    from pipelines.generate.cli import period_start
    from pipelines.generate.core import add_months

    today = date(2026, 11, 27)
    with pytest.raises(GenerateError, match=r"runs to 2026-12-31, after today.*--start 2024-11-27 or earlier"):
        period_start(date(2025, 1, 1), 24, today)
    assert add_months(date(2024, 11, 27), 24) <= today  # the suggested start fits


def test_cli_without_start_writes_nothing_dated_after_today(tmp_path):
    from pipelines.generate.core import add_months

    proc = _cli("--out", str(tmp_path / "b"), "--clinics", "1", "--months", "1", "--seed", "2", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    first = date.today().replace(day=1)
    assert f"period {add_months(first, -1)} .. {first} (exclusive)" in proc.stdout
    latest = max(row["discharge_at"] for row in csv.DictReader(open(tmp_path / "b" / "sessions.csv")) if row["discharge_at"])
    assert latest[:10] < first.isoformat()


def test_cli_refuses_a_period_past_today_and_writes_nothing(tmp_path):
    start = date.today().replace(day=1)
    proc = _cli("--out", str(tmp_path / "b"), "--clinics", "1", "--months", "2", "--start", start.isoformat())
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "after today" in proc.stderr
    assert not (tmp_path / "b").exists()


def test_cli_unusable_output_folder_exits_2(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    proc = _cli("--out", str(target), "--clinics", "1", "--months", "1")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
