"""`--defects`: a realistic handful of broken rows of every kind the contract names.

Broken rows are either *extra* rows (new ids, so nothing else depends on them) or *mutations* of real
rows. A mutated session row is quarantined by the loader, and so are the vitals, side effects and
assessments that point at it (orphans): the generator counts those as `orphan_cascade`. Rows that are
messy but valid (" Completed ", "IV_Ketamine", "Yes") are recorded with broken=False.

Each broken kind gets 1-3 rows; a file never gets more than `MAX_BROKEN_SHARE` of its rows broken (kinds
that do not fit a tiny file are skipped and listed in the summary), so no file comes near the loader's
20% whole-file rejection threshold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

MAX_BROKEN_SHARE = 0.04
_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")

FEMALE_NAMES = ["Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail",
                "Emily", "Ella", "Madison", "Scarlett", "Grace", "Chloe", "Nora", "Lily", "Hannah", "Zoe"]
MALE_NAMES = ["Liam", "Noah", "Elijah", "James", "Lucas", "Mason", "Ethan", "Logan", "Aiden", "Jackson",
              "Carter", "Sebastian", "Mateo", "Owen", "Wyatt", "Henry", "Daniel", "Samuel", "Leo", "Julian"]
LAST_NAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
              "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
              "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Lewis"]
REFERRAL_SOURCES = ["psychiatrist", "primary care", "self", "therapist", "friend, family", "online search"]
BOOKING_CHANNELS = ["phone", "online", "front desk", "referral portal"]


@dataclass
class Defect:
    file: str
    kind: str
    rows: int
    broken: bool
    detail: str


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M")


def _fmt(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


class Injector:
    def __init__(self, rng: np.random.Generator, future_year: int):
        self.rng = rng
        self.future_year = future_year
        self.records: list[Defect] = []
        self.skipped: list[tuple[str, str]] = []
        self.broken_sessions: set[str] = set()  # session ids whose rows were made invalid

    # -- bookkeeping ------------------------------------------------------------------------------
    def note(self, file: str, kind: str, rows: int, broken: bool, detail: str) -> None:
        if rows:
            self.records.append(Defect(file, kind, rows, broken, detail))

    def _budget(self, rows: int) -> tuple[int, int]:
        """(rows per broken kind, broken rows allowed in a file of `rows` rows)."""
        per_kind = 1 if rows < 3000 else 2 if rows < 200_000 else 3
        return per_kind, int(MAX_BROKEN_SHARE * rows)

    def _pick(self, mask: np.ndarray, k: int, used: set[int]) -> list[int]:
        cand = [i for i in np.flatnonzero(mask) if i not in used]
        if not cand:
            return []
        take = self.rng.choice(len(cand), size=min(k, len(cand)), replace=False)
        chosen = sorted(int(cand[i]) for i in take)
        used.update(chosen)
        return chosen

    @staticmethod
    def _set(frame: pl.DataFrame, rows: list[int], column: str, values) -> pl.DataFrame:
        if not rows:
            return frame
        vals = values if isinstance(values, list) else [values] * len(rows)
        return frame.with_columns(frame[column].scatter(rows, pl.Series(vals, dtype=pl.String)))

    def _plan(self, file: str, rows: int, kinds: list[tuple[str, int]]) -> dict[str, int]:
        """Rows to inject per kind (kinds listed by priority; each entry: kind, rows it breaks per unit)."""
        per_kind, allowed = self._budget(rows)
        plan, used = {}, 0
        for kind, weight in kinds:
            cost = per_kind * weight
            if used + cost <= allowed:
                plan[kind] = per_kind
                used += cost
            elif used + weight <= allowed:
                plan[kind] = 1
                used += weight
            else:
                self.skipped.append((file, kind))
        return plan

    # -- clinics ------------------------------------------------------------------------------------
    def clinics(self, file: str, frame: pl.DataFrame, period_start, period_end) -> pl.DataFrame:
        # The clinics file is tiny: one broken row is allowed only next to at least 7 valid ones.
        if frame.height < 7:
            self.skipped.append((file, "out_of_range"))
            return frame
        row = frame.row(0, named=True)
        when = period_start + (period_end - period_start) * 3 // 4
        bad = dict(row, chairs="0", valid_from=when.isoformat())
        self.note(file, "out_of_range", 1, True, f"clinic {row['clinic_id']} row with chairs 0 from {when}")
        return pl.concat([frame, pl.DataFrame([bad], schema=frame.schema)])

    # -- patients -----------------------------------------------------------------------------------
    def patients(self, file: str, frame: pl.DataFrame, next_ref: int) -> pl.DataFrame:
        rng, n = self.rng, frame.height
        female = np.asarray(FEMALE_NAMES)[rng.integers(len(FEMALE_NAMES), size=n)]
        male = np.asarray(MALE_NAMES)[rng.integers(len(MALE_NAMES), size=n)]
        sex = frame["sex"].fill_null("U").to_numpy()
        first = np.where(sex == "M", male, np.where(sex == "F", female, np.where(rng.random(n) < 0.5, female, male)))
        last = np.asarray(LAST_NAMES)[rng.integers(len(LAST_NAMES), size=n)]
        by = frame["birth_year"].fill_null("1980").cast(pl.Int64).to_numpy()
        month, day = rng.integers(1, 13, n), rng.integers(1, 29, n)
        dob = [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in zip(by, month, day)]
        phone = [f"({a}) 555-01{b:02d}" for a, b in zip(rng.integers(201, 990, n), rng.integers(0, 100, n))]
        email = [f"{f.lower()}.{la.lower()}{i % 97}@example.com" for i, (f, la) in enumerate(zip(first, last))]
        frame = frame.with_columns(
            pl.Series("first_name", first), pl.Series("last_name", last), pl.Series("dob", dob),
            pl.Series("phone", phone), pl.Series("email", email),
            pl.Series("referral_source", np.asarray(REFERRAL_SOURCES)[rng.integers(len(REFERRAL_SOURCES), size=n)]),
        )
        self.note(file, "identifier_columns", n, False, "first_name, last_name, dob, phone, email (fake values)")
        self.note(file, "unknown_column", n, False, "referral_source (some values contain a comma)")

        used: set[int] = set()
        messy = self._pick(np.ones(n, bool), max(2, n // 400), used)
        half = len(messy) // 2
        frame = self._set(frame, messy[:half], "primary_indication",
                          [f" {v.upper()} " for v in frame["primary_indication"].gather(messy[:half])])
        frame = self._set(frame, messy[half:], "lamotrigine",
                          [{"true": "Yes", "false": "N"}.get(v, v) for v in frame["lamotrigine"].gather(messy[half:])])
        frame = self._set(frame, messy[half:], "benzodiazepine",
                          [{"true": "1", "false": "FALSE"}.get(v, v) for v in frame["benzodiazepine"].gather(messy[half:])])
        self.note(file, "valid_messy_values", len(messy), False, "padded upper-case indication; Yes/N/1/FALSE booleans")

        plan = self._plan(file, n, [("missing_required", 1), ("bad_enum", 1), ("out_of_range", 1), ("orphan", 1),
                                    ("conflicting_key", 2), ("bad_boolean", 1)])
        template = frame.row(0, named=True)
        extra: list[dict] = []

        def new_row(**over):
            nonlocal next_ref
            row = dict(template, patient_ref=f"EHR-{next_ref}")
            next_ref += 1
            row.update(over)
            extra.append(row)
            return row

        for _ in range(plan.get("missing_required", 0)):
            new_row(primary_indication=None)
        self.note(file, "missing_required", plan.get("missing_required", 0), True, "empty primary_indication")
        for i in range(plan.get("bad_enum", 0)):
            new_row(**({"sex": "female"} if i % 2 == 0 else {"primary_indication": "depression"}))
        self.note(file, "bad_enum", plan.get("bad_enum", 0), True, "sex 'female' / primary_indication 'depression'")
        for _ in range(plan.get("out_of_range", 0)):
            new_row(birth_year="1875")
        self.note(file, "out_of_range", plan.get("out_of_range", 0), True, "birth_year 1875")
        for _ in range(plan.get("orphan", 0)):
            new_row(clinic_id="ZZZ")
        self.note(file, "orphan", plan.get("orphan", 0), True, "clinic_id ZZZ not in clinics")
        for _ in range(plan.get("conflicting_key", 0)):
            row = new_row(birth_year="1971")
            extra.append(dict(row, birth_year="1977"))
        self.note(file, "conflicting_key", 2 * plan.get("conflicting_key", 0), True,
                  "two rows with one patient_ref, different birth_year")
        for _ in range(plan.get("bad_boolean", 0)):
            new_row(opioid="maybe")
        self.note(file, "bad_boolean", plan.get("bad_boolean", 0), True, "opioid 'maybe'")
        dups = [frame.row(i, named=True) for i in self._pick(np.ones(n, bool), self._budget(n)[0], used)]
        self.note(file, "exact_duplicate", len(dups), False, "a patient row repeated verbatim")
        extra.extend(dups)
        # The real patient refs hidden among the fake identifiers stay the loader's problem to pseudonymize.
        return pl.concat([frame, pl.DataFrame(extra, schema=frame.schema)]) if extra else frame

    # -- sessions -----------------------------------------------------------------------------------
    def sessions(self, file: str, frame: pl.DataFrame, total_rows: int,
                 next_session: int) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Mutate the first chunk in place; return (chunk, extra rows to append at the end)."""
        rng, n = self.rng, frame.height
        frame = frame.with_columns(
            pl.Series("mrn", [f"MRN{v:07d}" for v in rng.integers(0, 10_000_000, n)]),
            pl.Series("booking_channel", np.asarray(BOOKING_CHANNELS)[rng.integers(len(BOOKING_CHANNELS), size=n)]),
        )
        self.note(file, "identifier_columns", total_rows, False, "mrn (fake values)")
        self.note(file, "unknown_column", total_rows, False, "booking_channel")
        status = frame["status"].to_numpy()
        modality = frame["modality"].to_numpy()
        naive = np.array([bool(_NAIVE.match(v or "")) for v in frame["treatment_start"].to_list()])
        naive_sched = np.array([bool(_NAIVE.match(v or "")) for v in frame["scheduled_start"].to_list()])
        treated = np.isin(status, ["completed"]) & naive
        ket = treated & np.isin(modality, ["iv_ketamine", "im_ketamine"])
        esk = treated & (modality == "esketamine_nasal")
        untreated = np.isin(status, ["cancelled", "no_show"]) & naive_sched
        # Keep long-treatment rows away from the period end (they would run past it).
        early = np.arange(n) < max(1, n // 2)
        used: set[int] = set()
        plan = self._plan(file, total_rows, [
            ("missing_required", 2), ("bad_enum", 2), ("unparseable_timestamp", 2), ("future_timestamp", 1),
            ("checkin_after_treatment_start", 1), ("treatment_over_6h", 1), ("ketamine_dose_over_3mgkg", 1),
            ("esketamine_dose_70", 1), ("missing_weight_ketamine", 1), ("out_of_range", 2), ("orphan", 2),
            ("conflicting_key", 2),
        ])

        def take(kind, mask, k=None):
            return self._pick(mask, plan.get(kind, 0) if k is None else k, used)

        def broke(rows):
            self.broken_sessions.update(frame["session_id"].gather(rows).to_list() if rows else [])

        if "missing_required" in plan:
            a = take("missing_required", untreated)
            frame = self._set(frame, a, "scheduled_start", None)
            b = take("missing_required", treated)
            broke(b)
            frame = self._set(frame, b, "chair_id", None)
            self.note(file, "missing_required", len(a) + len(b), True,
                      "empty scheduled_start (cancelled/no-show); empty chair_id (completed)")
        if "bad_enum" in plan:
            a = take("bad_enum", untreated)
            frame = self._set(frame, a, "modality", "ketamine")
            b = take("bad_enum", treated)
            broke(b)
            frame = self._set(frame, b, "status", "done")
            self.note(file, "bad_enum", len(a) + len(b), True, "modality 'ketamine'; status 'done'")
        if "unparseable_timestamp" in plan:
            a = take("unparseable_timestamp", untreated)
            frame = self._set(frame, a, "scheduled_start",
                              [v[:5] + "13" + v[7:] for v in frame["scheduled_start"].gather(a)])
            b = take("unparseable_timestamp", treated)
            broke(b)
            frame = self._set(frame, b, "treatment_start", "n/a")
            self.note(file, "unparseable_timestamp", len(a) + len(b), True,
                      "scheduled_start with month 13; treatment_start 'n/a'")
        if "future_timestamp" in plan:
            a = take("future_timestamp", untreated)
            frame = self._set(frame, a, "scheduled_start",
                              [str(self.future_year) + v[4:] for v in frame["scheduled_start"].gather(a)])
            self.note(file, "future_timestamp", len(a), True,
                      f"scheduled_start in {self.future_year} (year typo), more than a day in the future")
        if "checkin_after_treatment_start" in plan:
            a = take("checkin_after_treatment_start", treated)
            broke(a)
            frame = self._set(frame, a, "checkin_at",
                              [_fmt(_parse(v) + timedelta(minutes=10)) for v in frame["treatment_start"].gather(a)])
            self.note(file, "checkin_after_treatment_start", len(a), True, "checkin_at 10 min after treatment_start")
        if "treatment_over_6h" in plan:
            a = take("treatment_over_6h", treated & early & ~esk)
            broke(a)
            ends = [_parse(v) + timedelta(hours=7) for v in frame["treatment_start"].gather(a)]
            frame = self._set(frame, a, "treatment_end", [_fmt(v) for v in ends])
            frame = self._set(frame, a, "discharge_at", [_fmt(v + timedelta(minutes=30)) for v in ends])
            self.note(file, "treatment_over_6h", len(a), True, "treatment_end 7 h after treatment_start")
        if "ketamine_dose_over_3mgkg" in plan:
            a = take("ketamine_dose_over_3mgkg", ket)
            broke(a)
            frame = self._set(frame, a, "dose_mg", [f"{float(v) * 10:.1f}" for v in frame["dose_mg"].gather(a)])
            self.note(file, "ketamine_dose_over_3mgkg", len(a), True, "dose_mg typed with an extra digit (x10)")
        if "esketamine_dose_70" in plan:
            a = take("esketamine_dose_70", esk)
            broke(a)
            frame = self._set(frame, a, "dose_mg", "70")
            self.note(file, "esketamine_dose_70", len(a), True, "esketamine dose_mg 70")
        if "missing_weight_ketamine" in plan:
            a = take("missing_weight_ketamine", ket)
            broke(a)
            frame = self._set(frame, a, "weight_kg", None)
            self.note(file, "missing_weight_ketamine", len(a), True, "treated ketamine session without weight_kg")
        if "out_of_range" in plan:
            a = take("out_of_range", ket)
            broke(a)
            frame = self._set(frame, a, "dose_mg", "0")
            b = take("out_of_range", ket)
            broke(b)
            frame = self._set(frame, b, "weight_kg", "400.0")
            self.note(file, "out_of_range", len(a) + len(b), True, "dose_mg 0; weight_kg 400")
        messy = self._pick(treated | untreated, max(2, n // 2000), used)
        third = max(1, len(messy) // 3)
        frame = self._set(frame, messy[:third], "status",
                          [f" {v.capitalize()} " for v in frame["status"].gather(messy[:third])])
        frame = self._set(frame, messy[third:2 * third], "modality",
                          [v.replace("iv_", "IV_").replace("im_", "IM_").replace("esketamine", "Esketamine")
                           for v in frame["modality"].gather(messy[third:2 * third])])
        frame = self._set(frame, messy[2 * third:], "status",
                          [v.upper() for v in frame["status"].gather(messy[2 * third:])])
        self.note(file, "valid_messy_values", len(messy), False, "' Completed ', 'IV_Ketamine', 'NO_SHOW'")

        extra: list[dict] = []
        base = frame.row(int(np.flatnonzero(untreated)[0]) if untreated.any() else 0, named=True)

        def new_row(**over):
            nonlocal next_session
            row = dict(base, session_id=f"S-{next_session:08d}")
            next_session += 1
            row.update(over)
            extra.append(row)
            return row

        for i in range(plan.get("orphan", 0) * 2):
            new_row(**({"patient_ref": "EHR-0000001"} if i % 2 == 0 else {"clinic_id": "ZZZ"}))
        self.note(file, "orphan", plan.get("orphan", 0) * 2, True, "unknown patient_ref / unknown clinic_id")
        for _ in range(plan.get("conflicting_key", 0)):
            row = new_row(status="cancelled")
            extra.append(dict(row, status="no_show"))
        self.note(file, "conflicting_key", 2 * plan.get("conflicting_key", 0), True,
                  "two rows with one session_id, different status")
        dups = [frame.row(i, named=True) for i in self._pick(np.ones(n, bool), self._budget(total_rows)[0], used)]
        extra.extend(dups)
        self.note(file, "exact_duplicate", len(dups), False, "a session row repeated verbatim")
        return frame, pl.DataFrame(extra, schema=frame.schema) if extra else frame.clear()

    # -- vitals -------------------------------------------------------------------------------------
    def vitals(self, file: str, frame: pl.DataFrame, total_rows: int, unknown_session: str) -> tuple[pl.DataFrame, pl.DataFrame]:
        n = frame.height
        plan = self._plan(file, total_rows, [
            ("out_of_range", 3), ("diastolic_not_below_systolic", 1), ("missing_required", 1),
            ("unparseable_timestamp", 1), ("future_timestamp", 1), ("orphan", 1), ("conflicting_key", 2),
        ])
        used: set[int] = set()
        naive = np.array([bool(_NAIVE.match(v or "")) for v in frame["measured_at"].to_list()])
        sessions_broken = np.isin(frame["session_id"].to_numpy(), list(self.broken_sessions))
        ok = naive & ~sessions_broken

        def take(kind, k=None):
            return self._pick(ok, plan.get(kind, 0) if k is None else k, used)

        if "out_of_range" in plan:
            a, b, c = take("out_of_range"), take("out_of_range"), take("out_of_range")
            frame = self._set(frame, a, "spo2", "101")
            frame = self._set(frame, b, "systolic_bp", "400")
            frame = self._set(frame, c, "heart_rate", "300")
            self.note(file, "out_of_range", len(a) + len(b) + len(c), True, "spo2 101; systolic_bp 400; heart_rate 300")
        if "diastolic_not_below_systolic" in plan:
            a = take("diastolic_not_below_systolic")
            frame = self._set(frame, a, "diastolic_bp", [v for v in frame["systolic_bp"].gather(a)])
            self.note(file, "diastolic_not_below_systolic", len(a), True, "diastolic_bp equal to systolic_bp")
        if "missing_required" in plan:
            a = take("missing_required")
            frame = self._set(frame, a, "systolic_bp", None)
            self.note(file, "missing_required", len(a), True, "empty systolic_bp")
        if "unparseable_timestamp" in plan:
            a = take("unparseable_timestamp")
            frame = self._set(frame, a, "measured_at", [v[:11] + "25" + v[13:] for v in frame["measured_at"].gather(a)])
            self.note(file, "unparseable_timestamp", len(a), True, "measured_at at hour 25")
        if "future_timestamp" in plan:
            a = take("future_timestamp")
            frame = self._set(frame, a, "measured_at", [str(self.future_year) + v[4:] for v in frame["measured_at"].gather(a)])
            self.note(file, "future_timestamp", len(a), True, f"measured_at in {self.future_year}")
        extra: list[dict] = []
        for i in take("orphan"):
            extra.append(dict(frame.row(i, named=True), session_id=unknown_session))
        self.note(file, "orphan", len(extra), True, f"session_id {unknown_session} not in sessions")
        conflicts = take("conflicting_key")
        for i in conflicts:
            row = frame.row(i, named=True)
            extra.append(dict(row, systolic_bp=str(int(row["systolic_bp"]) + 7)))
        self.note(file, "conflicting_key", 2 * len(conflicts), True,
                  "a (session_id, measured_at) row repeated with another systolic_bp (both rows break)")
        dups = [frame.row(i, named=True) for i in take("exact_duplicate", self._budget(total_rows)[0])]
        extra.extend(dups)
        self.note(file, "exact_duplicate", len(dups), False, "a vitals row repeated verbatim")
        return frame, pl.DataFrame(extra, schema=frame.schema) if extra else frame.clear()

    # -- assessments --------------------------------------------------------------------------------
    def assessments(self, file: str, frame: pl.DataFrame, next_id: int, unknown_session: str) -> pl.DataFrame:
        n = frame.height
        plan = self._plan(file, n, [
            ("out_of_range", 2), ("fractional_score", 1), ("item9_not_phq9", 1), ("bad_enum", 1),
            ("missing_required", 1), ("item9_out_of_range", 1), ("orphan", 2), ("unparseable_timestamp", 1), ("future_timestamp", 1),
            ("conflicting_key", 2),
        ])
        used: set[int] = set()
        inst = frame["instrument"].to_numpy()
        naive = np.array([bool(_NAIVE.match(v or "")) for v in frame["assessed_at"].to_list()])
        phq = (inst == "PHQ9") & naive
        extra: list[dict] = []

        def new_row(src: int, **over):
            nonlocal next_id
            row = dict(frame.row(src, named=True), assessment_id=f"A-{next_id:08d}")
            next_id += 1
            row.update(over)
            extra.append(row)
            return row

        def sources(kind, k=None):
            cand = np.flatnonzero(phq)
            k = plan.get(kind, 0) if k is None else k
            return [int(i) for i in self.rng.choice(cand, size=min(k, len(cand)), replace=False)] if len(cand) else []

        count = 0
        for src in sources("out_of_range"):
            new_row(src, score="30")
            count += 1
        for src in sources("out_of_range"):
            new_row(src, instrument="PAIN_NRS", score="11", item9=None)
            count += 1
        self.note(file, "out_of_range", count, True, "PHQ9 score 30; PAIN_NRS 11")
        rows = [new_row(s, instrument="GAD7", score="7.5", item9=None) for s in sources("fractional_score")]
        self.note(file, "fractional_score", len(rows), True, "GAD7 score 7.5")
        rows = [new_row(s, instrument="GAD7", score="9", item9="1") for s in sources("item9_not_phq9")]
        self.note(file, "item9_not_phq9", len(rows), True, "item9 given on a GAD7 row")
        rows = [new_row(s, instrument="PHQ-9") for s in sources("bad_enum")]
        self.note(file, "bad_enum", len(rows), True, "instrument 'PHQ-9'")
        rows = [new_row(s, score=None) for s in sources("missing_required")]
        self.note(file, "missing_required", len(rows), True, "empty score")
        rows = [new_row(s, item9="5") for s in sources("item9_out_of_range")]
        self.note(file, "out_of_range", len(rows), True, "PHQ9 item9 5")
        rows = [new_row(s, patient_ref="EHR-0000001", session_id=None) for s in sources("orphan")]
        rows += [new_row(s, session_id=unknown_session) for s in sources("orphan")]
        self.note(file, "orphan", len(rows), True, f"unknown patient_ref / session_id {unknown_session}")
        rows = [new_row(s, assessed_at=frame["assessed_at"][s][:5] + "02-30" + frame["assessed_at"][s][10:])
                for s in sources("unparseable_timestamp")]
        self.note(file, "unparseable_timestamp", len(rows), True, "assessed_at on February 30")
        rows = [new_row(s, assessed_at=str(self.future_year) + frame["assessed_at"][s][4:])
                for s in sources("future_timestamp")]
        self.note(file, "future_timestamp", len(rows), True, f"assessed_at in {self.future_year}")
        k = 0
        for s in sources("conflicting_key"):
            row = new_row(s)
            score = int(float(row["score"]))
            extra.append(dict(row, score=str(score - 1 if score > 0 else score + 1)))
            k += 2
        self.note(file, "conflicting_key", k, True, "two rows with one assessment_id, different score")
        messy = self._pick(phq, max(2, n // 1500), used)
        frame = self._set(frame, messy, "instrument", " phq9 ")
        self.note(file, "valid_messy_values", len(messy), False, "instrument ' phq9 '")
        dups = [frame.row(i, named=True) for i in self._pick(np.ones(n, bool), self._budget(n)[0], used)]
        extra.extend(dups)
        self.note(file, "exact_duplicate", len(dups), False, "an assessment row repeated verbatim")
        return pl.concat([frame, pl.DataFrame(extra, schema=frame.schema)]) if extra else frame

    # -- side effects -------------------------------------------------------------------------------
    def side_effects(self, file: str, frame: pl.DataFrame, unknown_session: str,
                     csv: bool) -> tuple[pl.DataFrame, list[tuple[int, str]]]:
        n = frame.height
        plan = self._plan(file, n, [
            ("bad_enum", 3), ("missing_required", 1), ("out_of_range", 1), ("orphan", 1), ("conflicting_key", 2),
            ("malformed_line", 1),
        ])
        used: set[int] = set()
        ok = ~np.isin(frame["session_id"].to_numpy(), list(self.broken_sessions))

        def take(kind, k=None):
            return self._pick(ok, plan.get(kind, 0) if k is None else k, used)

        if "bad_enum" in plan:
            a, b, c = take("bad_enum"), take("bad_enum"), take("bad_enum")
            frame = self._set(frame, a, "effect", "dizzy")
            frame = self._set(frame, b, "severity", "extreme")
            frame = self._set(frame, c, "intervention", "tylenol")
            self.note(file, "bad_enum", len(a) + len(b) + len(c), True,
                      "effect 'dizzy'; severity 'extreme'; intervention 'tylenol'")
        a = take("missing_required")
        frame = self._set(frame, a, "severity", None)
        self.note(file, "missing_required", len(a), True, "empty severity")
        a = take("out_of_range")
        frame = self._set(frame, a, "onset_min", "900")
        self.note(file, "out_of_range", len(a), True, "onset_min 900")
        extra: list[dict] = []
        for i in take("orphan"):
            extra.append(dict(frame.row(i, named=True), session_id=unknown_session))
        self.note(file, "orphan", len(extra), True, f"session_id {unknown_session} not in sessions")
        conflicts = take("conflicting_key")
        for i in conflicts:
            row = frame.row(i, named=True)
            extra.append(dict(row, severity="severe" if row["severity"] != "severe" else "mild"))
        self.note(file, "conflicting_key", 2 * len(conflicts), True,
                  "a (session_id, effect) row repeated with another severity (both rows break)")
        messy = self._pick(ok, max(2, n // 2000), used)
        half = len(messy) // 2
        frame = self._set(frame, messy[:half], "severity", [v.capitalize() if v else v for v in frame["severity"].gather(messy[:half])])
        frame = self._set(frame, messy[half:], "effect", [f" {v.capitalize()} " for v in frame["effect"].gather(messy[half:])])
        self.note(file, "valid_messy_values", len(messy), False, "'Mild', ' Nausea '")
        dups = [frame.row(i, named=True) for i in self._pick(ok, self._budget(n)[0], used)]
        extra.extend(dups)
        self.note(file, "exact_duplicate", len(dups), False, "a side-effect row repeated verbatim")
        raw: list[tuple[int, str]] = []
        if "malformed_line" in plan:
            if csv:
                i = self._pick(ok, 1, used)
                if i:
                    row = frame.row(i[0], named=True)
                    values = ["" if v is None else str(v) for v in row.values()]
                    raw.append((frame.height // 2, ",".join(values + ["per protocol"])))
                    self.note(file, "malformed_line", 1, True, "one CSV line with an extra field")
            else:
                self.skipped.append((file, "malformed_line"))
        if extra:
            frame = pl.concat([frame, pl.DataFrame(extra, schema=frame.schema)])
        return frame, raw
