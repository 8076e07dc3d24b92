"""The observed figures a plan starts from, read from the warehouse's planning macros.

Every figure is defined in SQL (sql/metrics/plan_inputs.sql, plus metrics.utilization_by_weekday_hour
and marts.clinic_capacity); this module only passes parameters and shapes rows. The one modelling step
here is shrinkage: a clinic's funnel, booster rates, chair time and no-show rate are blended with the
network's in proportion to how much data the clinic has (a credibility weight), so a small clinic or a
rare modality does not plan on a handful of courses.

All reads see only data before `as_of` (the macros' cut), so a back-test can cut at a past date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import numpy as np

from pipelines.plan.holidays import HOLIDAY_NAMES, holidays_between
from pipelines.plan.protocol import DEFAULT_DAYS, DEFAULT_GAPS, FAMILIES, INDUCTION_SIZE, MODALITIES, WEEKDAYS

# Look-back windows (days before as_of) for each observed figure.
FUNNEL_LOOKBACK_DAYS = 365
FUNNEL_SETTLE_DAYS = 42  # courses younger than this have not had time to finish induction
BOOSTER_LOOKBACK_DAYS = 730
BOOSTER_WEEKS = 78
RECENT_LOOKBACK_DAYS = 182  # chair time, attendance, modality mix, time of day
HOLIDAY_LOOKBACK_DAYS = 730  # the last two years: each holiday once or twice
SPREAD_LOOKBACK_DAYS = 91  # the day-to-day spread of booked chair time: the last 13 weeks
# Credibility: the clinic's own figure gets weight n / (n + PRIOR) against the network's.
FUNNEL_PRIOR_COURSES = 100
BOOSTER_PRIOR_COURSES = 200
ATTENDANCE_PRIOR_BOOKINGS = 500
CHAIR_TIME_MIN_SESSIONS = 30
# Skip the first weeks of a clinic's history: when an extract starts, patients already in treatment
# look like new courses.
BURN_IN_WEEKS = 4
CALIBRATION_WEEKS = 13
# Days after an induction session for which the odds of the next one are observed; a course that has
# waited longer counts as stopped.
CONTINUATION_DAYS = 21

_DEFAULT_CHAIR_MINUTES = {"iv_ketamine": 90.0, "im_ketamine": 65.0, "esketamine_nasal": 145.0}


@dataclass(frozen=True)
class CourseState:
    """Courses of one kind standing at the same place on the day before as_of."""

    family: str
    modality: str
    state: str  # 'induction' or 'maintenance'
    induction_sessions_done: int
    anchor_date: dt.date  # induction: the last session so far; maintenance: the day induction ended
    courses: int


@dataclass(frozen=True)
class ClinicCapacity:
    """The clinics row valid on a day: chairs, open window and open weekdays."""

    chairs: int
    opens_at: dt.time
    closes_at: dt.time
    open_days: tuple[str, ...]


@dataclass
class ClinicInputs:
    """Everything observed about one clinic that the plan uses (see docs/planning.md, "Inputs")."""

    clinic_id: str
    as_of: dt.date
    history_weeks: tuple[dt.date, ...]  # Mondays of complete weeks before as_of (after burn-in)
    new_courses: np.ndarray  # per history week, all modalities
    network_new_courses: np.ndarray  # every clinic of the warehouse, per week, ending with the same week
    modality_mix: dict[str, float]
    funnel: dict[str, np.ndarray]  # family -> share of courses reaching induction session 1..K
    induction_gaps: dict[str, tuple[float, ...]]  # family -> median days between sessions k-1 and k
    induction_days: dict[str, tuple[float, ...]]  # family -> mean day of sessions 2..K after session 1
    # family -> (K-1) x 7 x CONTINUATION_DAYS: P(session k+1 comes | session k, on weekday w (0 = Monday),
    # was followed by no session for d days)
    continuation: dict[str, np.ndarray]
    # family -> (K-1) x 7 x (CONTINUATION_DAYS + 1): how many days after session k the next one came
    # (index g = a gap of g days; the last index: later), network-wide counts; for when it will come
    next_gap: dict[str, np.ndarray]
    booster_rates: dict[str, np.ndarray]  # family -> boosters per course in week w after induction
    chair_minutes: dict[str, float]  # modality -> median check-in to discharge
    no_show_rate: float
    cancellation_rate: float
    weekday_share: np.ndarray  # 7 (Mon..Sun): share of occupied chair time
    start_weekday_share: np.ndarray  # 7 (Mon..Sun): share of first infusions on each weekday
    booster_weekday_share: np.ndarray  # 7 (Mon..Sun): share of boosters on each weekday
    induction_weekday_share: np.ndarray  # 7 (Mon..Sun): share of induction sessions 2.. on each weekday
    hour_profile: np.ndarray  # 7 x 24: share of each weekday's occupied chair time by hour
    course_states: list[CourseState] = field(default_factory=list)
    # The same CALIBRATION_WEEKS weeks before as_of, for checking the protocol model against what happened:
    calibration_states: list[CourseState] = field(default_factory=list)  # where courses stood then
    recent_sessions: np.ndarray = field(default_factory=lambda: np.zeros(0))  # treated sessions per week since
    capacity: ClinicCapacity | None = None
    # 7 (Mon..Sun): how many days of each weekday the clinic was open in the RECENT_LOOKBACK_DAYS before
    # as_of (the window of the weekday shares), from the clinics rows valid then; None: unknown, taken as
    # the open days of `capacity` throughout (open_days_in_lookback)
    lookback_open_days: np.ndarray | None = None
    # holiday name -> (its latest date in the HOLIDAY_LOOKBACK_DAYS before as_of that was an open weekday of
    # the clinic, whether it closed that day; metrics.plan_holiday_days)
    holidays_seen: dict[str, tuple[dt.date, bool]] = field(default_factory=dict)
    # how much a day's booked chair time varies around its weekday's mean (root mean square of the relative
    # difference, SPREAD_LOOKBACK_DAYS before as_of; metrics.plan_daily_spread); None: too few days to tell
    daily_spread: float | None = None
    # new_courses and network_new_courses as if no public holiday had closed a clinic: a week a closure
    # shortened is scaled up by open days / days left open (NetworkInputs.closed_weeks). The forecast reads
    # these (forecast_history), the charts the counts as observed. None: as observed.
    new_courses_full_weeks: np.ndarray | None = None
    network_new_courses_full_weeks: np.ndarray | None = None
    # Monday -> open days a closed public holiday took from that week (NetworkInputs.closed_weeks, this clinic)
    closed_weeks: dict[dt.date, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def ordinary_recent_sessions(self) -> np.ndarray:
        """recent_sessions without the weeks a closed holiday shortened and the week after each (it takes the
        closed day's sessions): the week-to-week scatter of ordinary weeks, which the sessions interval
        (projection.weekly_noise) reads. The plan models a closure's own effect on its weeks."""
        touched = set(self.closed_weeks) | {w + dt.timedelta(weeks=1) for w in self.closed_weeks}
        keep = [i for i, week in enumerate(self.recent_weeks()) if week not in touched]
        return self.recent_sessions[keep]

    def recent_weeks(self) -> list[dt.date]:
        """The Mondays of recent_sessions' weeks: the complete weeks just before the week of as_of."""
        n = len(self.recent_sessions)
        first = self.as_of - dt.timedelta(days=self.as_of.weekday(), weeks=n)
        return [first + dt.timedelta(weeks=i) for i in range(n)]

    def forecast_history(self) -> tuple[np.ndarray, np.ndarray]:
        """(the clinic's, the network's) weekly new courses for the forecast: weeks shortened by a closed holiday
        counted as full weeks, so a Christmas just before the plan does not read as falling demand."""
        own = self.new_courses if self.new_courses_full_weeks is None else self.new_courses_full_weeks
        net = (self.network_new_courses if self.network_new_courses_full_weeks is None
               else self.network_new_courses_full_weeks)
        return own, net

    def holidays_closed(self) -> tuple[str, ...]:
        """The public holidays the clinic closed on the last time each fell on one of its open weekdays."""
        return tuple(n for n in HOLIDAY_NAMES if n in self.holidays_seen and self.holidays_seen[n][1])

    def open_days_in_lookback(self) -> np.ndarray:
        """Days each weekday (Mon..Sun) was open in the weekday shares' window. Tells a weekday the
        clinic kept open but never used for a kind of session (its share of 0 is a fact) from one it
        did not open (no share was observed)."""
        if self.lookback_open_days is not None:
            return np.asarray(self.lookback_open_days, dtype=float)
        if self.capacity is None:
            return np.zeros(7)
        weeks = RECENT_LOOKBACK_DAYS / 7
        return np.array([weeks if d in self.capacity.open_days else 0.0 for d in WEEKDAYS])

    def observed_summary(self) -> dict:
        """The observed figures in plain JSON (for the CLI, the page and docs)."""
        return {
            "as_of": self.as_of.isoformat(),
            "history_weeks": len(self.history_weeks),
            "new_courses_last_13_weeks_per_week": float(self.new_courses[-13:].mean()) if len(self.new_courses) else None,
            "modality_mix": self.modality_mix,
            "induction_completion": {f: float(self.funnel[f][-1]) for f in FAMILIES},
            "induction_funnel": {f: [float(x) for x in self.funnel[f]] for f in FAMILIES},
            "induction_gap_days": {f: list(self.induction_gaps[f]) for f in FAMILIES},
            "induction_days_from_first": {f: list(self.induction_days[f]) for f in FAMILIES},
            "boosters_per_completed_course_first_year": {
                f: float(self.booster_rates[f][:52].sum()) for f in FAMILIES
            },
            "chair_minutes": self.chair_minutes,
            "no_show_rate": self.no_show_rate,
            "cancellation_rate": self.cancellation_rate,
            "courses_in_induction": sum(c.courses for c in self.course_states if c.state == "induction"
                                        and (self.as_of - c.anchor_date).days <= CONTINUATION_DAYS),
            "courses_past_induction": sum(c.courses for c in self.course_states if c.state == "maintenance"),
            "capacity": None if self.capacity is None else {
                "chairs": self.capacity.chairs,
                "opens_at": self.capacity.opens_at.strftime("%H:%M"),
                "closes_at": self.capacity.closes_at.strftime("%H:%M"),
                "open_days": list(self.capacity.open_days),
            },
            "daily_spread": self.daily_spread,
            "holidays_seen": {name: {"day": day.isoformat(), "closed": closed}
                              for name, (day, closed) in self.holidays_seen.items()},
            "notes": list(self.notes),
        }


def data_end(con: duckdb.DuckDBPyConnection, clinics: list[str] | None = None) -> dt.date | None:
    """The last day with a session of the clinics (metrics.data_period)."""
    return con.execute("SELECT end_date FROM metrics.data_period(clinics := ?::VARCHAR[])", [clinics]).fetchone()[0]


def known_clinics(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT clinic_id FROM marts.clinic_capacity ORDER BY 1").fetchall()]


@dataclass(frozen=True)
class NetworkInputs:
    """What every clinic's inputs share at one as_of: each clinic's weekly new courses (the network
    series is their sum) and the network's pooled figures (the shrinkage target). The same for every
    clinic, so a caller planning several clinics of one warehouse version can read it once."""

    as_of: dt.date
    weekly: dict[str, tuple[tuple[dt.date, ...], np.ndarray]]
    pooled: dict[str, list[dict]]
    # clinic -> Monday -> open days a closed public holiday took from that week, over the whole history
    # (metrics.plan_holiday_days, open-ended at as_of); and clinic -> open weekdays by its latest clinics row
    closed_weeks: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    open_weekdays: dict[str, int] = field(default_factory=dict)

    def full_weeks(self) -> dict[str, np.ndarray]:
        """Each clinic's weekly new courses with every week a closure shortened counted as a full week (times
        open days / days left open): a closed day takes no first infusions, so the week's count falls by about
        a fifth though demand did not."""
        out = {}
        for clinic, (weeks, counts) in self.weekly.items():
            closed = self.closed_weeks.get(clinic, {})
            days = self.open_weekdays.get(clinic, 0)
            factor = np.array([days / (days - closed[w]) if w in closed and days > closed[w] else 1.0 for w in weeks])
            out[clinic] = counts * factor
        return out


def read_network(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> NetworkInputs:
    weekly = weekly_new_courses(con, as_of)
    closed, open_weekdays = _closed_holiday_weeks(con, weekly, as_of)
    return NetworkInputs(as_of=as_of, weekly=weekly, pooled=_pooled(con, as_of), closed_weeks=closed,
                         open_weekdays=open_weekdays)


def _closed_holiday_weeks(con, weekly, as_of: dt.date) -> tuple[dict[str, dict[dt.date, int]], dict[str, int]]:
    """Per clinic, the weeks of its history a closed public holiday shortened (open days taken), and its open
    weekdays by its latest clinics row. Open-ended at as_of: a holiday just before the plan whose week after is
    not in the data yet counts as closed when nothing was booked on it and the week before was."""
    starts = [weeks[0] for weeks, _ in weekly.values() if weeks]
    if not starts:
        return {}, {}
    days = [day for day, _ in holidays_between(min(starts), as_of - dt.timedelta(days=1))]
    closed: dict[str, dict[dt.date, int]] = {}
    if days:
        rows = con.execute(
            "SELECT clinic_id, day FROM metrics.plan_holiday_days(days := ?::DATE[], as_of := ?::DATE, "
            "open_ended := true) WHERE closed ORDER BY clinic_id, day", [days, as_of]).fetchall()
        for clinic, day in rows:
            monday = day - dt.timedelta(days=day.weekday())
            weeks = closed.setdefault(clinic, {})
            weeks[monday] = weeks.get(monday, 0) + 1
    open_weekdays = dict(con.execute(
        "SELECT clinic_id, len(arg_max(open_days, valid_from)) FROM marts.clinic_capacity GROUP BY clinic_id"
    ).fetchall())
    return closed, open_weekdays


def read_inputs(con: duckdb.DuckDBPyConnection, clinics: list[str], as_of: dt.date,
                network: NetworkInputs | None = None) -> dict[str, ClinicInputs]:
    """ClinicInputs for each clinic, from data before `as_of`. One query per macro for all clinics.
    `network`: read_network(con, as_of) when the caller has it already (it must be of the same data)."""
    if network is None:
        network = read_network(con, as_of)
    elif network.as_of != as_of:
        raise ValueError(f"network inputs are as of {network.as_of}, not {as_of}")
    weekly = network.weekly
    network_pooled = network.pooled
    per_clinic = {
        "protocol": _rows(con, "metrics.plan_induction_protocol", clinics, as_of,
                          lookback_days=FUNNEL_LOOKBACK_DAYS, settle_days=FUNNEL_SETTLE_DAYS),
        "continuation": _rows(con, "metrics.plan_induction_continuation", clinics, as_of,
                              lookback_days=FUNNEL_LOOKBACK_DAYS, settle_days=FUNNEL_SETTLE_DAYS,
                              max_days=CONTINUATION_DAYS),
        "boosters": _rows(con, "metrics.plan_booster_rates", clinics, as_of,
                          lookback_days=BOOSTER_LOOKBACK_DAYS, max_weeks=BOOSTER_WEEKS),
        "chair": _rows(con, "metrics.plan_chair_minutes", clinics, as_of, lookback_days=RECENT_LOOKBACK_DAYS),
        "attendance": _rows(con, "metrics.plan_attendance", clinics, as_of, lookback_days=RECENT_LOOKBACK_DAYS),
        "mix": _rows(con, "metrics.plan_modality_mix", clinics, as_of, lookback_days=RECENT_LOOKBACK_DAYS),
        "weekdays": _rows(con, "metrics.plan_session_weekdays", clinics, as_of, lookback_days=RECENT_LOOKBACK_DAYS),
        "spread": _rows(con, "metrics.plan_daily_spread", clinics, as_of, lookback_days=SPREAD_LOOKBACK_DAYS),
    }
    states = _course_states(con, clinics, as_of)
    # the complete weeks before the week of as_of (the same weeks as the end of the new-course history)
    calibration_from = as_of - dt.timedelta(days=as_of.weekday(), weeks=CALIBRATION_WEEKS)
    calibration_states = _course_states(con, clinics, calibration_from)
    recent = _weekly_sessions(con, clinics, calibration_from, calibration_from + dt.timedelta(weeks=CALIBRATION_WEEKS))
    time_of_day = _time_of_day(con, clinics, as_of)
    capacity = _capacity(con, clinics, as_of)
    open_before = _open_days_before(con, clinics, as_of)
    holidays_seen = _holidays_seen(con, clinics, as_of)

    network_counts = _network_series(weekly)[1][BURN_IN_WEEKS:]
    full = network.full_weeks()
    network_full = _network_series({c: (weekly[c][0], full[c]) for c in weekly})[1][BURN_IN_WEEKS:]
    next_gaps = _next_gaps(network_pooled["continuation"])
    result = {}
    for clinic in clinics:
        weeks, counts = weekly.get(clinic, ((), np.zeros(0)))
        weeks, counts = weeks[BURN_IN_WEEKS:], counts[BURN_IN_WEEKS:]
        notes = []
        if len(weeks) < 26:
            notes.append(f"only {len(weeks)} complete weeks of history after the first {BURN_IN_WEEKS}")
        shares, gaps, days_from_start = _funnel(per_clinic["protocol"].get(clinic, []), network_pooled["protocol"])
        result[clinic] = ClinicInputs(
            clinic_id=clinic,
            as_of=as_of,
            history_weeks=weeks,
            new_courses=counts,
            network_new_courses=network_counts,
            new_courses_full_weeks=full[clinic][BURN_IN_WEEKS:] if clinic in full else None,
            network_new_courses_full_weeks=network_full,
            modality_mix=_mix(per_clinic["mix"].get(clinic, []), network_pooled["mix"]),
            funnel=shares,
            induction_gaps=gaps,
            induction_days=days_from_start,
            continuation=_continuation(per_clinic["continuation"].get(clinic, []), network_pooled["continuation"]),
            next_gap=next_gaps,
            booster_rates=_booster_rates(per_clinic["boosters"].get(clinic, []), network_pooled["boosters"]),
            chair_minutes=_chair_minutes(per_clinic["chair"].get(clinic, []), network_pooled["chair"]),
            no_show_rate=_attendance(per_clinic["attendance"].get(clinic, []), network_pooled["attendance"], "no_show_rate"),
            cancellation_rate=_attendance(per_clinic["attendance"].get(clinic, []), network_pooled["attendance"],
                                          "cancellation_rate"),
            weekday_share=time_of_day.get(clinic, _flat_time_of_day())[0],
            start_weekday_share=_weekdays(per_clinic["weekdays"].get(clinic, []), network_pooled["weekdays"],
                                          "first_infusion"),
            booster_weekday_share=_weekdays(per_clinic["weekdays"].get(clinic, []), network_pooled["weekdays"],
                                            "booster"),
            induction_weekday_share=_weekdays(per_clinic["weekdays"].get(clinic, []), network_pooled["weekdays"],
                                              "induction"),
            hour_profile=time_of_day.get(clinic, _flat_time_of_day())[1],
            course_states=states.get(clinic, []),
            calibration_states=calibration_states.get(clinic, []),
            recent_sessions=np.array([recent.get((clinic, calibration_from + dt.timedelta(weeks=i)), 0.0)
                                      for i in range(CALIBRATION_WEEKS)]),
            closed_weeks=dict(network.closed_weeks.get(clinic, {})),
            capacity=capacity.get(clinic),
            lookback_open_days=open_before.get(clinic, np.zeros(7)),
            holidays_seen=holidays_seen.get(clinic, {}),
            daily_spread=_spread(per_clinic["spread"].get(clinic, [])),
            notes=notes,
        )
    return result


# -- queries -------------------------------------------------------------------------------------

def _dicts(cursor) -> list[dict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _rows(con, macro: str, clinics: list[str] | None, as_of: dt.date, breakdown: str = "clinic", **params
          ) -> dict[str, list[dict]]:
    extra = "".join(f", {name} := {int(value)}" for name, value in params.items())
    sql = f"SELECT * FROM {macro}(clinics := ?::VARCHAR[], as_of := ?::DATE, breakdown := '{breakdown}'{extra})"
    grouped: dict[str, list[dict]] = {}
    for row in _dicts(con.execute(sql, [clinics, as_of])):
        grouped.setdefault(row["group_value"], []).append(row)
    return grouped


def _pooled(con, as_of: dt.date) -> dict[str, list[dict]]:
    """The same figures for the whole network (every clinic of the warehouse): the shrinkage target."""
    def one(macro, **params):
        return _rows(con, macro, None, as_of, breakdown="none", **params).get("all", [])

    return {
        "protocol": one("metrics.plan_induction_protocol", lookback_days=FUNNEL_LOOKBACK_DAYS,
                        settle_days=FUNNEL_SETTLE_DAYS),
        "continuation": one("metrics.plan_induction_continuation", lookback_days=FUNNEL_LOOKBACK_DAYS,
                            settle_days=FUNNEL_SETTLE_DAYS, max_days=CONTINUATION_DAYS),
        "boosters": one("metrics.plan_booster_rates", lookback_days=BOOSTER_LOOKBACK_DAYS, max_weeks=BOOSTER_WEEKS),
        "chair": one("metrics.plan_chair_minutes", lookback_days=RECENT_LOOKBACK_DAYS),
        "attendance": one("metrics.plan_attendance", lookback_days=RECENT_LOOKBACK_DAYS),
        "mix": one("metrics.plan_modality_mix", lookback_days=RECENT_LOOKBACK_DAYS),
        "weekdays": one("metrics.plan_session_weekdays", lookback_days=RECENT_LOOKBACK_DAYS),
    }


def weekly_new_courses(con, as_of: dt.date) -> dict[str, tuple[tuple[dt.date, ...], np.ndarray]]:
    """Every clinic's weekly new courses (all modalities), oldest first."""
    rows = con.execute(
        "SELECT clinic_id, week_start, sum(new_courses) AS n "
        "FROM metrics.plan_weekly_new_courses(as_of := ?::DATE) GROUP BY ALL ORDER BY clinic_id, week_start",
        [as_of],
    ).fetchall()
    out: dict[str, tuple[list, list]] = {}
    for clinic, week, n in rows:
        weeks, counts = out.setdefault(clinic, ([], []))
        weeks.append(week)
        counts.append(float(n))
    return {c: (tuple(w), np.array(n)) for c, (w, n) in out.items()}


def _network_series(weekly) -> tuple[list[dt.date], np.ndarray]:
    totals: dict[dt.date, float] = {}
    for weeks, counts in weekly.values():
        for w, n in zip(weeks, counts):
            totals[w] = totals.get(w, 0.0) + n
    ordered = sorted(totals)
    return ordered, np.array([totals[w] for w in ordered])


def _course_states(con, clinics: list[str], as_of: dt.date) -> dict[str, list[CourseState]]:
    rows = _dicts(con.execute(
        # in a fixed order: the projection adds these courses up in floats, and a parallel scan's row
        # order would otherwise move the plans' last digits from one run to the next
        "SELECT * FROM metrics.plan_course_states(clinics := ?::VARCHAR[], as_of := ?::DATE, max_weeks := ?) "
        "ORDER BY ALL",
        [clinics, as_of, BOOSTER_WEEKS],
    ))
    out: dict[str, list[CourseState]] = {}
    for r in rows:
        out.setdefault(r["clinic_id"], []).append(CourseState(
            family=r["modality_family"], modality=r["modality"], state=r["state"],
            induction_sessions_done=int(r["induction_sessions_done"]), anchor_date=r["anchor_date"],
            courses=int(r["courses"]),
        ))
    return out


def _weekly_sessions(con, clinics: list[str], start: dt.date, end: dt.date) -> dict[tuple[str, dt.date], float]:
    """Treated sessions per clinic and week for the weeks from `start` (a Monday) up to `end` (exclusive)."""
    rows = con.execute(
        "SELECT clinic_id, week_start, treated_sessions FROM metrics.plan_weekly_sessions("
        "clinics := ?::VARCHAR[], start_date := ?::DATE, end_date := ?::DATE)",
        [clinics, start, end - dt.timedelta(days=1)],
    ).fetchall()
    return {(c, w): float(n) for c, w, n in rows}


def _time_of_day(con, clinics: list[str], as_of: dt.date) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Weekday shares and hour-of-day profiles of occupied chair time (metrics.utilization_by_weekday_hour)."""
    rows = con.execute(
        "SELECT clinic_id, weekday, hour, occupied_minutes FROM metrics.utilization_by_weekday_hour("
        "clinics := ?::VARCHAR[], start_date := ?::DATE, end_date := ?::DATE)",
        [clinics, as_of - dt.timedelta(days=RECENT_LOOKBACK_DAYS), as_of - dt.timedelta(days=1)],
    ).fetchall()
    minutes: dict[str, np.ndarray] = {}
    for clinic, weekday, hour, occupied in rows:
        grid = minutes.setdefault(clinic, np.zeros((7, 24)))
        grid[int(weekday) - 1, int(hour)] += float(occupied or 0.0)
    out = {}
    for clinic, grid in minutes.items():
        per_day = grid.sum(axis=1)
        if per_day.sum() <= 0:
            continue
        profile = np.zeros((7, 24))
        pooled = grid.sum(axis=0) / grid.sum()
        for d in range(7):
            profile[d] = grid[d] / per_day[d] if per_day[d] > 0 else pooled
        out[clinic] = (per_day / per_day.sum(), profile)
    return out


def _flat_time_of_day() -> tuple[np.ndarray, np.ndarray]:
    profile = np.zeros((7, 24))
    profile[:, 8:17] = 1 / 9
    return np.full(7, 1 / 7), profile


def _capacity(con, clinics: list[str], as_of: dt.date) -> dict[str, ClinicCapacity]:
    """The clinics row valid on as_of (or the latest one before it)."""
    rows = con.execute(
        "SELECT clinic_id, chairs, opens_at, closes_at, open_days FROM marts.clinic_capacity "
        "WHERE list_contains(?::VARCHAR[], clinic_id) AND valid_from <= ?::DATE "
        "QUALIFY row_number() OVER (PARTITION BY clinic_id ORDER BY valid_from DESC) = 1",
        [clinics, as_of],
    ).fetchall()
    return {c: ClinicCapacity(int(ch), o, cl, tuple(days)) for c, ch, o, cl, days in rows}


def _open_days_before(con, clinics: list[str], as_of: dt.date) -> dict[str, np.ndarray]:
    """Per clinic, how many days of each weekday (Mon..Sun) were open in the RECENT_LOOKBACK_DAYS
    before as_of, by the clinics rows valid on each day (valid_to is the next row's valid_from)."""
    start = as_of - dt.timedelta(days=RECENT_LOOKBACK_DAYS)
    rows = con.execute(
        "WITH days AS (SELECT clinic_id, open_days, unnest(generate_series(greatest(valid_from, ?::DATE), "
        "least(valid_to, ?::DATE) - 1, INTERVAL 1 DAY))::DATE AS day FROM marts.clinic_capacity "
        "WHERE list_contains(?::VARCHAR[], clinic_id) AND valid_from < ?::DATE AND valid_to > ?::DATE) "
        "SELECT clinic_id, isodow(day) AS weekday, count(*) FROM days "
        "WHERE list_contains(open_days, (?::VARCHAR[])[isodow(day)]) GROUP BY ALL",
        [start, as_of, clinics, as_of, start, list(WEEKDAYS)],
    ).fetchall()
    out: dict[str, np.ndarray] = {}
    for clinic, weekday, days in rows:
        out.setdefault(clinic, np.zeros(7))[int(weekday) - 1] = float(days)
    return out


def _spread(rows: list[dict]) -> float | None:
    """The clinic's day-to-day spread, when it had at least four weeks of booked days to read it from."""
    if not rows or rows[0]["spread"] is None or rows[0]["days"] < 20:
        return None
    return float(rows[0]["spread"])


def _holidays_seen(con, clinics: list[str], as_of: dt.date) -> dict[str, dict[str, tuple[dt.date, bool]]]:
    """Per clinic and holiday, its latest open-weekday date in the HOLIDAY_LOOKBACK_DAYS before as_of and
    whether the clinic closed that day (metrics.plan_holiday_days decides)."""
    names = dict(holidays_between(as_of - dt.timedelta(days=HOLIDAY_LOOKBACK_DAYS), as_of - dt.timedelta(days=1)))
    if not names:
        return {}
    rows = con.execute(
        "SELECT clinic_id, day, closed FROM metrics.plan_holiday_days(clinics := ?::VARCHAR[], days := ?::DATE[], "
        "as_of := ?::DATE) ORDER BY clinic_id, day",
        [clinics, sorted(names), as_of],
    ).fetchall()
    out: dict[str, dict[str, tuple[dt.date, bool]]] = {}
    for clinic, day, closed in rows:  # in date order: a later year replaces an earlier one
        out.setdefault(clinic, {})[names[day]] = (day, bool(closed))
    return out


# -- shrinkage -----------------------------------------------------------------------------------

def _blend(own: float | None, own_n: float, network: float | None, prior_n: float) -> float | None:
    if own is None or own_n <= 0:
        return network
    if network is None:
        return own
    weight = own_n / (own_n + prior_n)
    return weight * own + (1 - weight) * network


def _funnel(clinic_rows: list[dict], network_rows: list[dict]) -> tuple[dict, dict, dict]:
    shares, gaps, days = {}, {}, {}
    for family in FAMILIES:
        size = INDUCTION_SIZE[family]
        own = {r["session_number"]: r for r in clinic_rows if r["modality_family"] == family}
        net = {r["session_number"]: r for r in network_rows if r["modality_family"] == family}
        share = np.ones(size)
        gap, day = [], []
        for k in range(1, size + 1):
            o, n = own.get(k), net.get(k)
            value = _blend(o and o["share_reaching"], o["courses"] if o else 0,
                           n and n["share_reaching"], FUNNEL_PRIOR_COURSES)
            share[k - 1] = 1.0 if k == 1 else (value if value is not None else _DEFAULT_FUNNEL[family][k - 1])
            if k > 1:
                g = _blend(o and o["median_gap_days"], o["courses_reaching"] if o else 0,
                           n and n["median_gap_days"], FUNNEL_PRIOR_COURSES)
                gap.append(float(g) if g is not None else DEFAULT_GAPS[family][k - 2])
                d = _blend(o and o["mean_days_from_start"], o["courses_reaching"] if o else 0,
                           n and n["mean_days_from_start"], FUNNEL_PRIOR_COURSES)
                day.append(float(d) if d is not None else DEFAULT_DAYS[family][k - 2])
        shares[family] = np.minimum.accumulate(share)  # reaching k+1 never beats reaching k
        gaps[family] = tuple(gap)
        days[family] = tuple(day)
    return shares, gaps, days


def _continuation(clinic_rows: list[dict], network_rows: list[dict]) -> dict[str, np.ndarray]:
    out = {}
    for family in FAMILIES:
        def index(rows):
            return {(r["session_number"], r["weekday"], r["days_waited"]): r
                    for r in rows if r["modality_family"] == family}

        own, net = index(clinic_rows), index(network_rows)
        table = np.zeros((INDUCTION_SIZE[family] - 1, 7, CONTINUATION_DAYS))
        for k in range(1, INDUCTION_SIZE[family]):
            for w in range(7):
                for d in range(CONTINUATION_DAYS):
                    o, n = own.get((k, w + 1, d)), net.get((k, w + 1, d))
                    value = _blend(o and o["share_continuing"], o["courses_at_risk"] if o else 0,
                                   n and n["share_continuing"], FUNNEL_PRIOR_COURSES)
                    if value is None:  # nobody observed: the funnel's step, fading out over three weeks
                        step = _DEFAULT_FUNNEL[family][k] / _DEFAULT_FUNNEL[family][k - 1]
                        value = step * max(0.0, 1 - d / CONTINUATION_DAYS)
                    table[k - 1, w, d] = value
        out[family] = np.minimum.accumulate(table, axis=2)  # waiting longer never makes a return likelier
    return out


def _next_gaps(rows: list[dict]) -> dict[str, np.ndarray]:
    """Gap lengths from the continuation counts: of the courses still to continue after d days, those
    continuing after d - 1 days minus those after d came back exactly d days later."""
    out = {}
    for family in FAMILIES:
        continuing = np.zeros((INDUCTION_SIZE[family] - 1, 7, CONTINUATION_DAYS))
        for r in rows:
            if r["modality_family"] == family:
                continuing[r["session_number"] - 1, r["weekday"] - 1, r["days_waited"]] = r["courses_continuing"]
        gaps = np.zeros((INDUCTION_SIZE[family] - 1, 7, CONTINUATION_DAYS + 1))
        gaps[:, :, 1:CONTINUATION_DAYS] = np.maximum(continuing[:, :, :-1] - continuing[:, :, 1:], 0)
        gaps[:, :, CONTINUATION_DAYS] = continuing[:, :, -1]  # still to come after the last day counted
        out[family] = gaps
    return out


# Without any history: the shape reported by real-world practice (docs/sample-data.md sources).
_DEFAULT_FUNNEL = {
    "ketamine": [1.0, 0.8, 0.71, 0.63, 0.56, 0.5],
    "esketamine": [1.0, 0.82, 0.74, 0.68, 0.62, 0.57, 0.53, 0.5],
}


def _booster_rates(clinic_rows: list[dict], network_rows: list[dict]) -> dict[str, np.ndarray]:
    out = {}
    for family in FAMILIES:
        own = {r["weeks_since_induction"]: r for r in clinic_rows if r["modality_family"] == family}
        net = {r["weeks_since_induction"]: r for r in network_rows if r["modality_family"] == family}
        rates = np.zeros(BOOSTER_WEEKS)
        for w in range(BOOSTER_WEEKS):
            o, n = own.get(w), net.get(w)
            value = _blend(o and o["boosters_per_course"], o["courses_at_risk"] if o else 0,
                           n and n["boosters_per_course"], BOOSTER_PRIOR_COURSES)
            rates[w] = value or 0.0  # weeks nobody has been followed for yet count as no boosters
        out[family] = rates
    return out


def _chair_minutes(clinic_rows: list[dict], network_rows: list[dict]) -> dict[str, float]:
    own = {r["modality"]: r for r in clinic_rows}
    net = {r["modality"]: r for r in network_rows}
    out = {}
    for modality in MODALITIES:
        o, n = own.get(modality), net.get(modality)
        if o and o["treated_sessions"] >= CHAIR_TIME_MIN_SESSIONS and o["median_chair_minutes"]:
            out[modality] = float(o["median_chair_minutes"])
        elif n and n["median_chair_minutes"]:
            out[modality] = float(n["median_chair_minutes"])
        else:
            out[modality] = _DEFAULT_CHAIR_MINUTES[modality]
    return out


def _attendance(clinic_rows: list[dict], network_rows: list[dict], key: str) -> float:
    o = clinic_rows[0] if clinic_rows else None
    n = network_rows[0] if network_rows else None
    value = _blend(o and o[key], o["booked_sessions"] if o else 0, n and n[key], ATTENDANCE_PRIOR_BOOKINGS)
    return float(value) if value is not None else 0.0


def _weekdays(clinic_rows: list[dict], network_rows: list[dict], kind: str) -> np.ndarray:
    own = [r for r in clinic_rows if r["kind"] == kind]
    rows = own if sum(r["sessions"] for r in own) >= 20 else [r for r in network_rows if r["kind"] == kind]
    shares = np.zeros(7)
    for r in rows:
        shares[int(r["weekday"]) - 1] = float(r["share"])
    return shares if shares.sum() > 0 else np.full(7, 1 / 7)


def _mix(clinic_rows: list[dict], network_rows: list[dict]) -> dict[str, float]:
    rows = clinic_rows if sum(r["new_courses"] for r in clinic_rows) >= 20 else network_rows
    mix = {m: 0.0 for m in MODALITIES}
    for r in rows:
        mix[r["modality"]] = float(r["share"])
    if sum(mix.values()) <= 0:
        mix["iv_ketamine"] = 1.0
    return mix
