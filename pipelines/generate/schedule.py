"""Patients, courses, and a day-by-day booking simulation that fits sessions into chairs.

The simulation loops over days (not patients or sessions): each day, every course whose next visit is
due asks for a chair at its clinic; requests are ranked (running inductions first, then boosters, then
new patients, longest-waiting first), dealt round-robin over the chairs, and accepted while the chair's
booked 15-minute units fit inside the opening window. Requests that do not fit wait for the next day.
All work inside a day is vectorized over the requests of all clinics.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipelines.generate import params as P
from pipelines.generate.clinics import Calendar

COMPLETED, STOPPED_EARLY, CANCELLED, NO_SHOW = 0, 1, 2, 3
STATUSES = ["completed", "stopped_early", "cancelled", "no_show"]
_BLOCK = np.array([P.BLOCK_UNITS[P.IV], P.BLOCK_UNITS[P.IM], P.BLOCK_UNITS[P.ESK]], dtype=np.int32)
_IND_LEN = np.array([P.INDUCTION_LEN[P.IV], P.INDUCTION_LEN[P.IM], P.INDUCTION_LEN[P.ESK]], dtype=np.int16)


@dataclass
class Patients:
    clinic: np.ndarray
    indication: np.ndarray  # index into P.INDICATIONS
    sex: np.ndarray  # index into P.SEX
    age: np.ndarray
    lamotrigine: np.ndarray
    benzodiazepine: np.ndarray
    opioid: np.ndarray
    maoi: np.ndarray
    weight: np.ndarray
    sbp: np.ndarray  # resting systolic
    dbp: np.ndarray
    hr: np.ndarray
    first_day: np.ndarray

    def __len__(self) -> int:
        return len(self.clinic)

    @property
    def postpartum(self) -> np.ndarray:
        return self.indication == P.INDICATIONS.index("postpartum_depression")


@dataclass
class Courses:
    patient: np.ndarray
    clinic: np.ndarray
    modality: np.ndarray  # P.IV / P.IM / P.ESK
    n_induction: np.ndarray  # treated induction sessions the patient will attend (<= induction length)
    n_booster: np.ndarray
    improvement: np.ndarray  # share of baseline severity removed by a full induction
    arrival: np.ndarray  # day first due; -1 for a return course not triggered yet
    return_course: np.ndarray  # index of this course's later return course, or -1
    return_delay: np.ndarray
    is_return: np.ndarray
    mgkg: np.ndarray
    titrate: np.ndarray
    esk_escalate: np.ndarray

    def __len__(self) -> int:
        return len(self.patient)

    @property
    def induction_len(self) -> np.ndarray:
        return _IND_LEN[self.modality]


@dataclass
class Bookings:
    """One row per booked visit (treated, cancelled or no-show)."""

    course: np.ndarray
    clinic: np.ndarray
    day: np.ndarray
    chair: np.ndarray
    status: np.ndarray
    k: np.ndarray  # treated-session number within the course; 0 for cancelled / no-show
    start_min: np.ndarray | None = None  # scheduled start, minutes after the clinic day's midnight
    units: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.course)


def _choice(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right").clip(0, len(w) - 1)


def _by_group(values: np.ndarray, table: dict, names: list[str]) -> np.ndarray:
    out = np.full(len(values), table["_"], dtype=float)
    for name, p in table.items():
        if name != "_":
            out[values == names.index(name)] = p
    return out


def mean_occupied_minutes() -> np.ndarray:
    """Average check-in to discharge minutes of a treated session, by modality (IV, IM, ESK)."""
    iv = np.mean(P.IV_PRE) + np.mean(P.IV_INFUSION) + np.mean(P.IV_POST)
    im = np.mean(P.IM_PRE) + np.mean(P.IM_TREAT) + np.mean(P.IM_POST)
    esk = np.mean(P.ESK_PRE) + 120 + np.mean(P.ESK_MONITOR_EXTRA)
    return np.array([iv, im, esk])


def _treated_days(plan: dict[str, np.ndarray], offset: np.ndarray, rng: np.random.Generator):
    """(course index, day) of every treated session of `plan`'s courses, ignoring capacity."""
    mod = plan["modality"]
    ind_len = _IND_LEN[mod]
    target = np.where(plan["n_induction"] < ind_len, plan["n_induction"], ind_len + plan["n_booster"])
    day = offset.astype(np.int64).copy()
    idx_parts, day_parts = [np.arange(len(mod))], [day.copy()]
    k = 1
    while (target > k).any():
        gap = _gap_after_treatment(rng, np.full(len(mod), k), mod, ind_len)
        day = day + gap
        k += 1
        alive = np.flatnonzero(target >= k)
        idx_parts.append(alive)
        day_parts.append(day[alive])
    idx, days = np.concatenate(idx_parts), np.concatenate(day_parts)
    last = np.full(len(mod), -1, dtype=np.int64)
    np.maximum.at(last, idx, days)
    return idx, days, last


def load_kernel(horizon: int, n: int = 40_000) -> np.ndarray:
    """Expected occupied chair-minutes on day t after a new course arrives (t = 0..horizon-1), from the
    parameters alone: induction, boosters and return courses, by Monte Carlo over n synthetic courses.
    Its own fixed seed: the kernel is a property of the model, the same for every --seed."""
    rng = np.random.default_rng(20250101)
    pats = make_patients(np.zeros(n, np.int32), np.zeros(n, np.int32), rng)
    plan = _course_plan(pats, np.arange(n), rng)
    occ = mean_occupied_minutes()
    attend = 1 / (1 - P.P_NO_SHOW - P.P_CANCELLED)  # a missed visit is made up ~4 days later
    idx, days, last = _treated_days(plan, np.zeros(n), rng)
    weights = [occ[plan["modality"][idx]]]
    all_days = [days]
    completes = plan["n_induction"] >= _IND_LEN[plan["modality"]]
    back = np.flatnonzero(rng.random(n) < np.where(completes, P.RETURN_SHARE_COMPLETER, P.RETURN_SHARE_OTHER))
    plan2 = _course_plan(pats, back, rng, modality=plan["modality"][back])
    delay = rng.integers(P.RETURN_DELAY_DAYS[0], P.RETURN_DELAY_DAYS[1] + 1, len(back))
    idx2, days2, _ = _treated_days(plan2, last[back] + delay, rng)
    weights.append(occ[plan2["modality"][idx2]])
    all_days.append(days2)
    days = (np.concatenate(all_days) * (1 + 0.04 * attend)).astype(np.int64)  # closed days, make-ups
    keep = days < horizon
    return np.bincount(days[keep], weights=np.concatenate(weights)[keep], minlength=horizon) / n


def arrivals(cal: Calendar, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """New courses per clinic and open day: (clinic, day) of each, ordered by day then clinic.

    Demand is sized so that the expected occupied chair-minutes follow the target utilization (growth
    and seasonality): the load still coming from earlier courses (boosters, return courses: the kernel
    beyond the induction weeks) is subtracted, and the rest is filled with new courses.
    """
    days = np.arange(cal.days)
    frac = days / max(1, cal.days - 1)
    util = P.UTIL_START + (P.UTIL_END - P.UTIL_START) * frac
    doy = (cal.start.toordinal() + days) % 365.25
    season = 1 + P.SEASON_AMPLITUDE * np.cos(2 * math.pi * (doy - P.SEASON_PEAK_DOY) / 365.25)
    ramp = 1 + 1.2 * np.clip(1 - days / P.RAMP_DAYS, 0, None)
    clinic_factor = rng.uniform(*P.CLINIC_DEMAND_SPREAD, size=cal.n_clinics)
    open_minutes = cal.chairs * cal.window_units * 15.0  # 0 on closed days
    week = np.ones(7) / 7
    avail = np.stack([np.convolve(np.r_[row[:3], row, row[-3:]], week, mode="valid") for row in open_minutes]) \
        if cal.days >= 7 else np.repeat(open_minutes.mean(axis=1, keepdims=True), cal.days, axis=1)
    target = clinic_factor[:, None] * util[None, :] * season[None, :] * avail
    kernel = load_kernel(cal.days)
    split = P.INDUCTION_WINDOW_DAYS
    per_course_now = kernel[:split].sum()
    lam = np.zeros((cal.n_clinics, cal.days))
    for t in range(cal.days):
        carried = lam[:, :t - split + 1] @ kernel[split:t + 1][::-1] if t >= split else 0.0
        lam[:, t] = np.maximum(0.0, target[:, t] - carried) / per_course_now * ramp[t]
    open_share = np.maximum(cal.is_open.mean(axis=1, keepdims=True), 1e-9)
    lam = np.where(cal.is_open, lam / open_share, 0.0)
    counts = rng.poisson(lam.T)  # (day, clinic) so the flattened order is by day, then clinic
    day_idx, clinic_idx = np.nonzero(counts)
    reps = counts[day_idx, clinic_idx]
    return np.repeat(clinic_idx, reps).astype(np.int32), np.repeat(day_idx, reps).astype(np.int32)


def make_patients(clinic: np.ndarray, first_day: np.ndarray, rng: np.random.Generator) -> Patients:
    n = len(clinic)
    ind = _choice(rng, n, P.INDICATION_WEIGHTS).astype(np.int8)
    postpartum = ind == P.INDICATIONS.index("postpartum_depression")
    sex = _choice(rng, n, P.SEX_WEIGHTS).astype(np.int8)
    sex[postpartum] = 0
    age = np.clip(rng.normal(P.AGE_MEAN, P.AGE_SD, n), P.AGE_MIN, P.AGE_MAX)
    age[postpartum] = np.clip(rng.normal(31, 5, postpartum.sum()), 18, 45)
    age = age.round().astype(np.int16)
    lam = rng.random(n) < _by_group(ind, P.LAMOTRIGINE, P.INDICATIONS)
    benzo = rng.random(n) < _by_group(ind, P.BENZODIAZEPINE, P.INDICATIONS)
    opioid = rng.random(n) < _by_group(ind, P.OPIOID, P.INDICATIONS)
    maoi = rng.random(n) < P.MAOI
    male = sex == 1
    mean = np.where(male, P.WEIGHT_KG["M"][0], P.WEIGHT_KG["F"][0])
    sd = np.where(male, P.WEIGHT_KG["M"][1], P.WEIGHT_KG["F"][1])
    weight = np.clip(rng.normal(mean, sd), P.WEIGHT_MIN + 1, P.WEIGHT_MAX - 1).astype(np.float32)
    sbp = P.SBP_BASE_INTERCEPT + P.SBP_BASE_PER_AGE * age + rng.normal(0, P.SBP_PATIENT_SD, n)
    dbp = P.DBP_BASE_INTERCEPT + P.DBP_BASE_PER_AGE * age + rng.normal(0, P.DBP_PATIENT_SD, n)
    hr = rng.normal(74, 9, n)
    return Patients(clinic=clinic, indication=ind, sex=sex, age=age, lamotrigine=lam, benzodiazepine=benzo,
                    opioid=opioid, maoi=maoi, weight=weight, sbp=sbp.astype(np.float32),
                    dbp=dbp.astype(np.float32), hr=hr.astype(np.float32), first_day=first_day)


def _course_plan(patients: Patients, patient: np.ndarray, rng: np.random.Generator,
                 modality: np.ndarray | None = None) -> dict[str, np.ndarray]:
    n = len(patient)
    ind = patients.indication[patient]
    if modality is None:
        eligible = np.isin(ind, [P.INDICATIONS.index(x) for x in P.ESKETAMINE_INDICATIONS])
        u = rng.random(n)
        modality = np.full(n, P.IV, dtype=np.int8)
        modality[eligible & (u < P.ESKETAMINE_SHARE_IF_ELIGIBLE)] = P.ESK
        postpartum = ind == P.INDICATIONS.index("postpartum_depression")
        modality[(modality == P.IV) & ~postpartum & (rng.random(n) < P.IM_SHARE)] = P.IM
    # Improvement: a normal draw, lowered by interfering medication; dropout correlated with it.
    responder = rng.random(n) < P.RESPONDER_SHARE
    raw = np.where(responder, rng.normal(*P.RESPONDER_IMPROVEMENT, n), rng.normal(*P.NON_RESPONDER_IMPROVEMENT, n))
    factor = np.ones(n)
    factor[patients.lamotrigine[patient]] *= P.MED_FACTOR["lamotrigine"]
    factor[patients.benzodiazepine[patient]] *= P.MED_FACTOR["benzodiazepine"]
    factor[patients.opioid[patient]] *= P.MED_FACTOR["opioid"]
    improvement = np.clip(raw * factor, P.IMPROVEMENT_MIN, P.IMPROVEMENT_MAX)
    z = (improvement - improvement.mean()) / max(1e-9, improvement.std())
    rho = P.DROPOUT_RESPONSE_CORRELATION
    latent = rho * z + math.sqrt(1 - rho * rho) * rng.normal(size=n)
    u_drop = (np.argsort(np.argsort(latent, kind="stable"), kind="stable") + 0.5) / max(1, n)
    n_ind = np.where(
        modality == P.ESK,
        np.searchsorted(np.cumsum(P.ESKETAMINE_INDUCTION_REACHED), u_drop, side="right") + 1,
        np.searchsorted(np.cumsum(P.KETAMINE_INDUCTION_REACHED), u_drop, side="right") + 1,
    )
    n_ind = np.minimum(n_ind, _IND_LEN[modality]).astype(np.int16)
    completes = n_ind >= _IND_LEN[modality]
    boost = completes & (rng.random(n) < P.BOOSTER_SHARE)
    n_boost = np.where(boost, np.minimum(rng.geometric(P.BOOSTER_COUNT_P, n), P.BOOSTER_MAX), 0).astype(np.int16)
    mgkg = np.where(modality == P.IM, np.asarray(P.IM_MGKG)[_choice(rng, n, P.IM_MGKG_WEIGHTS)],
                    np.asarray(P.IV_MGKG)[_choice(rng, n, P.IV_MGKG_WEIGHTS)]).astype(np.float32)
    return dict(
        modality=modality.astype(np.int8), n_induction=n_ind, n_booster=n_boost,
        improvement=improvement.astype(np.float32), mgkg=mgkg,
        titrate=(modality == P.IV) & (mgkg <= 0.5) & (rng.random(n) < P.IV_TITRATE_SHARE),
        esk_escalate=rng.random(n) < P.ESK_ESCALATE_SHARE,
    )


def make_courses(patients: Patients, arrival_day: np.ndarray, rng: np.random.Generator) -> Courses:
    """One first course per patient; some get a return course (triggered when the first one ends)."""
    n = len(patients)
    first = _course_plan(patients, np.arange(n), rng)
    completes = first["n_induction"] >= _IND_LEN[first["modality"]]
    p_return = np.where(completes, P.RETURN_SHARE_COMPLETER, P.RETURN_SHARE_OTHER)
    returning = np.flatnonzero(rng.random(n) < p_return)
    m = len(returning)
    modality = first["modality"][returning].copy()
    switch = rng.random(m) < P.RETURN_SWITCH_FAMILY
    ind = patients.indication[returning]
    eligible = np.isin(ind, [P.INDICATIONS.index(x) for x in P.ESKETAMINE_INDICATIONS])
    modality[switch & (modality == P.ESK)] = P.IV
    modality[switch & eligible & (first["modality"][returning] != P.ESK)] = P.ESK
    second = _course_plan(patients, returning, rng, modality=modality)

    def cat(key):
        return np.concatenate([first[key], second[key]])

    return_course = np.full(n + m, -1, dtype=np.int64)
    return_course[returning] = n + np.arange(m)
    return Courses(
        patient=np.concatenate([np.arange(n), returning]).astype(np.int32),
        clinic=np.concatenate([patients.clinic, patients.clinic[returning]]).astype(np.int32),
        modality=cat("modality"), n_induction=cat("n_induction"), n_booster=cat("n_booster"),
        improvement=cat("improvement"),
        arrival=np.concatenate([arrival_day, np.full(m, -1, dtype=np.int32)]).astype(np.int32),
        return_course=return_course,
        return_delay=rng.integers(P.RETURN_DELAY_DAYS[0], P.RETURN_DELAY_DAYS[1] + 1, n + m).astype(np.int32),
        is_return=np.concatenate([np.zeros(n, bool), np.ones(m, bool)]),
        mgkg=cat("mgkg"), titrate=cat("titrate"), esk_escalate=cat("esk_escalate"),
    )


def _gap_after_treatment(rng, k, modality, ind_len):
    n = len(k)
    ket_gap = np.asarray(P.KETAMINE_GAP_DAYS)[_choice(rng, n, P.KETAMINE_GAP_WEIGHTS)]
    # Twice weekly: alternate 3 and 4 days, now and then the other way round or a little later.
    esk_gap = np.where(k % 2 == 1, 3, 4)
    esk_gap = np.where(rng.random(n) < 0.2, 7 - esk_gap, esk_gap) + (rng.random(n) < 0.05) * rng.integers(1, 3, n)
    band = _choice(rng, n, [w for _, w in P.BOOSTER_GAP_BANDS])
    lows = np.array([lo for (lo, _), _ in P.BOOSTER_GAP_BANDS])
    highs = np.array([hi for (_, hi), _ in P.BOOSTER_GAP_BANDS])
    booster_gap = lows[band] + (rng.random(n) * (highs[band] - lows[band] + 1)).astype(np.int64)
    induction_gap = np.where(modality == P.ESK, esk_gap, ket_gap)
    return np.where(k < ind_len, induction_gap, booster_gap)


def simulate(cal: Calendar, courses: Courses, rng: np.random.Generator) -> Bookings:
    n_courses = len(courses)
    k = np.zeros(n_courses, dtype=np.int16)
    fails = np.zeros(n_courses, dtype=np.int8)
    first_due = courses.arrival.copy()
    ind_len = courses.induction_len
    target = np.where(courses.n_induction < ind_len, courses.n_induction, ind_len + courses.n_booster)
    units_all = _BLOCK[courses.modality]
    buckets: dict[int, list[np.ndarray]] = {}

    def push(idx: np.ndarray, due: np.ndarray) -> None:
        keep = due < cal.days
        idx, due = idx[keep], due[keep]
        if idx.size == 0:
            return
        order = np.argsort(due, kind="stable")
        idx, due = idx[order], due[order]
        cuts = np.flatnonzero(np.diff(due)) + 1
        for part_idx, part_due in zip(np.split(idx, cuts), np.split(due, cuts)):
            buckets.setdefault(int(part_due[0]), []).append(part_idx)

    first = np.flatnonzero(courses.arrival >= 0)
    push(first, courses.arrival[first].astype(np.int64))
    out: dict[str, list[np.ndarray]] = {f: [] for f in ("course", "day", "chair", "status", "k")}

    for d in range(cal.days):
        parts = buckets.pop(d, None)
        if not parts:
            continue
        idx = np.concatenate(parts) if len(parts) > 1 else parts[0]
        cl = courses.clinic[idx]
        is_open = cal.is_open[cl, d]
        if not is_open.all():
            push(idx[~is_open], np.full((~is_open).sum(), d + 1))
            idx, cl = idx[is_open], cl[is_open]
            if idx.size == 0:
                continue
        kk = k[idx]
        klass = np.where(kk == 0, 2, np.where(kk >= ind_len[idx], 1, 0))
        order = np.lexsort((rng.random(idx.size), first_due[idx], klass, cl))
        idx, cl = idx[order], cl[order]
        n = idx.size
        group_starts = np.r_[0, np.flatnonzero(cl[1:] != cl[:-1]) + 1]
        rank = np.arange(n) - np.repeat(group_starts, np.diff(np.r_[group_starts, n]))
        chair = (rank % cal.chairs[cl, d]).astype(np.int16)
        # The visit's outcome is known up front: a cancellation frees its chair time for others.
        r = rng.random(n)
        units = np.where((r >= P.P_NO_SHOW) & (r < P.P_NO_SHOW + P.P_CANCELLED), 0, units_all[idx])
        key = cl.astype(np.int64) * 1024 + chair
        o2 = np.argsort(key, kind="stable")
        u2, key2 = units[o2], key[o2]
        cs = np.cumsum(u2)
        gs = np.r_[0, np.flatnonzero(key2[1:] != key2[:-1]) + 1]
        base = np.repeat(cs[gs] - u2[gs], np.diff(np.r_[gs, n]))
        used = np.empty(n, dtype=np.int64)
        used[o2] = cs - base
        accepted = used <= cal.window_units[cl, d]
        if not accepted.all():
            # New patients who have waited too long go elsewhere; everyone else waits a day.
            gone = ~accepted & (klass[order] == 2) & (d - courses.arrival[idx] >= P.MAX_WAIT_DAYS)
            wait = ~accepted & ~gone
            push(idx[wait], np.full(wait.sum(), d + 1))
        a = idx[accepted]
        if a.size == 0:
            continue
        r = r[accepted]
        mod = courses.modality[a]
        stopped = rng.random(a.size) < np.array([P.P_STOPPED_EARLY[P.IV], P.P_STOPPED_EARLY[P.IM],
                                                 P.P_STOPPED_EARLY[P.ESK]])[mod]
        status = np.where(r < P.P_NO_SHOW, NO_SHOW,
                          np.where(r < P.P_NO_SHOW + P.P_CANCELLED, CANCELLED,
                                   np.where(stopped, STOPPED_EARLY, COMPLETED))).astype(np.int8)
        treated = status <= STOPPED_EARLY
        k[a[treated]] += 1
        fails[a[treated]] = 0
        fails[a[~treated]] += 1
        ka = k[a]
        out["course"].append(a)
        out["day"].append(np.full(a.size, d, dtype=np.int32))
        out["chair"].append(chair[accepted])
        out["status"].append(status)
        out["k"].append(np.where(treated, ka, 0).astype(np.int16))

        done = treated & (ka >= target[a])
        gave_up = ~treated & (fails[a] >= P.MAX_FAILED_ATTEMPTS)
        cont = ~(done | gave_up)
        gap = np.where(treated, _gap_after_treatment(rng, ka, mod, ind_len[a]),
                       rng.integers(P.RESCHEDULE_DAYS[0], P.RESCHEDULE_DAYS[1] + 1, a.size))
        nxt = d + gap
        first_due[a[cont]] = nxt[cont]
        push(a[cont], nxt[cont])
        ended = a[done]
        ret = courses.return_course[ended]
        has = ret >= 0
        if has.any():
            due = d + courses.return_delay[ended[has]]
            first_due[ret[has]] = due
            courses.arrival[ret[has]] = np.where(due < cal.days, due, -1)
            push(ret[has], due.astype(np.int64))

    cat = {f: (np.concatenate(v) if v else np.zeros(0, dtype=np.int32)) for f, v in out.items()}
    course = cat["course"].astype(np.int32)
    return Bookings(course=course, clinic=courses.clinic[course], day=cat["day"].astype(np.int32),
                    chair=cat["chair"].astype(np.int16), status=cat["status"].astype(np.int8),
                    k=cat["k"].astype(np.int16))


def place_in_day(cal: Calendar, b: Bookings, courses: Courses, patients: Patients,
                 rng: np.random.Generator) -> Bookings:
    """Give every booking a start time: the chair's free time of the day is spread randomly between
    its bookings (15-minute grid); postpartum patients are booked last, ending near closing time."""
    n = len(b)
    units = np.where(b.status == CANCELLED, 0, _BLOCK[courses.modality[b.course]]).astype(np.int64)
    postpartum = patients.postpartum[courses.patient[b.course]]
    group = (b.clinic.astype(np.int64) * cal.days + b.day) * 1024 + b.chair
    order = np.lexsort((rng.random(n), postpartum, group))
    g, u = group[order], units[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    sizes = np.diff(np.r_[starts, n])
    seg = np.repeat(np.arange(len(starts)), sizes)
    cs_u = np.cumsum(u)
    before_u = cs_u - u - np.repeat(cs_u[starts] - u[starts], sizes)  # units booked earlier that day
    total_u = np.add.reduceat(u, starts)
    first_idx = order[starts]
    window = cal.window_units[b.clinic[first_idx], b.day[first_idx]].astype(np.int64)
    slack = window - total_u
    if (slack < 0).any():
        raise AssertionError("a chair was overbooked")  # the simulation never does this
    e = rng.exponential(size=n)
    cs_e = np.cumsum(e)
    upto_e = cs_e - np.repeat(cs_e[starts] - e[starts], sizes)
    last_is_pp = postpartum[order][starts + sizes - 1]
    end_weight = np.where(last_is_pp, 0.02, rng.exponential(size=len(starts)))
    total_e = np.add.reduceat(e, starts) + end_weight
    gap_units = np.floor(slack[seg] * upto_e / total_e[seg]).astype(np.int64)
    start_units = np.empty(n, dtype=np.int64)
    start_units[order] = gap_units + before_u
    b.start_min = (cal.opens_min[b.clinic, b.day].astype(np.int64) + 15 * start_units).astype(np.int32)
    b.units = units.astype(np.int16)
    return b
