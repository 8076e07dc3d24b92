"""What happens inside a session: times, doses, vitals, side effects; and the assessments of a course.

Times are whole minutes counted from midnight (clinic local time) of the period's first day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipelines.generate import params as P
from pipelines.generate.schedule import STOPPED_EARLY, Bookings, Courses, Patients, _choice

DAY = 1440


def _uniform_int(rng, lo_hi, n):
    lo, hi = lo_hi
    return rng.integers(lo, hi + 1, n)


@dataclass
class Treated:
    """Per treated booking (completed / stopped_early), aligned with `rows` (indices into Bookings)."""

    rows: np.ndarray
    checkin: np.ndarray
    start: np.ndarray
    end: np.ndarray
    discharge: np.ndarray
    dose: np.ndarray  # mg
    weight: np.ndarray  # kg, NaN when not recorded
    modality: np.ndarray
    stopped: np.ndarray
    # blood-pressure model
    sbp0: np.ndarray
    dbp0: np.ndarray
    hr0: np.ndarray
    spo2_0: np.ndarray
    rr0: np.ndarray
    rise_sbp: np.ndarray
    rise_dbp: np.ndarray
    rise_hr: np.ndarray
    peak_at: np.ndarray  # minutes after treatment start
    decay: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)


def session_details(b: Bookings, courses: Courses, patients: Patients, rng: np.random.Generator) -> Treated:
    rows = np.flatnonzero(b.status <= STOPPED_EARLY)
    n = len(rows)
    course = b.course[rows]
    patient = courses.patient[course]
    mod = courses.modality[course].astype(np.int64)
    k = b.k[rows].astype(np.int64)
    stopped = b.status[rows] == STOPPED_EARLY
    age = patients.age[patient]

    # ---- dose
    weight = np.round(patients.weight[patient].astype(np.float64) + rng.normal(0, 0.7, n), 1)
    weight = np.clip(weight, P.WEIGHT_MIN, P.WEIGHT_MAX)
    mgkg = courses.mgkg[course].astype(np.float64)
    titrate = courses.titrate[course]
    mgkg = np.where(titrate, np.minimum(1.0, mgkg + 0.1 * np.maximum(0, k - 2)), mgkg)
    ket_dose = np.round(mgkg * weight, 1)
    senior = age >= 65
    esk_dose = np.where(k == 1, np.where(senior, 28, 56),
                        np.where(courses.esk_escalate[course] & (k >= 3), 84, 56)).astype(np.float64)
    esk_dose = np.where(senior & (k > 1) & (rng.random(n) < 0.5), 28.0, esk_dose)

    # ---- times (minutes inside the booked block)
    late = np.minimum(_uniform_int(rng, P.LATE_ARRIVAL, n), _uniform_int(rng, P.LATE_ARRIVAL, n))
    pre = np.select([mod == P.IV, mod == P.IM], [_uniform_int(rng, P.IV_PRE, n), _uniform_int(rng, P.IM_PRE, n)],
                    _uniform_int(rng, P.ESK_PRE, n))
    devices = np.round(esk_dose / 28).astype(np.int64)
    esk_devices_given = np.where(stopped, np.maximum(1, devices - 1), devices)
    esk_treat = (esk_devices_given - 1) * 5 + rng.integers(1, 4, n)
    iv_treat = np.where(stopped, rng.integers(8, 31, n), _uniform_int(rng, P.IV_INFUSION, n))
    treat = np.select([mod == P.IV, mod == P.IM], [iv_treat, _uniform_int(rng, P.IM_TREAT, n)], esk_treat)
    post = np.select(
        [mod == P.IV, mod == P.IM],
        [_uniform_int(rng, P.IV_POST, n) + stopped * 10, _uniform_int(rng, P.IM_POST, n)],
        120 - esk_treat + _uniform_int(rng, P.ESK_MONITOR_EXTRA, n),
    )
    budget = b.units[rows].astype(np.int64) * 15 - P.TURNOVER
    excess = late + pre + treat + post - budget
    cut = np.minimum(late, np.maximum(excess, 0))
    late, excess = late - cut, excess - cut
    min_post = np.where(mod == P.ESK, 120 - treat, 15)
    cut = np.minimum(post - min_post, np.maximum(excess, 0))
    post, excess = post - cut, excess - cut
    cut = np.minimum(pre - 3, np.maximum(excess, 0))
    pre, excess = pre - cut, excess - cut
    assert (excess <= 0).all()
    scheduled = b.day[rows].astype(np.int64) * DAY + b.start_min[rows]
    checkin = scheduled + late
    start = checkin + pre
    end = start + treat
    discharge = end + post

    delivered = np.where(stopped & (mod == P.IV), np.round(ket_dose * iv_treat / 40, 1), ket_dose)
    dose = np.where(mod == P.ESK, np.where(stopped, esk_devices_given * 28.0, esk_dose), delivered)
    dose = np.maximum(dose, 0.5)
    weight = np.where((mod == P.ESK) & (rng.random(n) >= P.ESK_WEIGHT_RECORDED), np.nan, weight)

    # ---- blood pressure model (Yale cohort: mean +16/+11 mmHg at minute 40)
    early = np.where(k <= 3, P.EARLY_SESSION_RISE_FACTOR, 1.0)
    rise_sbp = np.maximum(-3, rng.normal(*P.SBP_RISE, n) * early + 0.12 * (age - P.AGE_MEAN))
    rise_dbp = np.maximum(-3, P.DBP_RISE[1] * rise_sbp + (P.DBP_RISE[0] - P.DBP_RISE[1] * P.SBP_RISE[0])
                          + rng.normal(0, 2.0, n))
    peak_at = np.array([P.BP_PEAK_MIN[P.IV], P.BP_PEAK_MIN[P.IM], P.BP_PEAK_MIN[P.ESK]])[mod]
    decay = np.array([25.0, 30.0, 60.0])[mod]
    # An infusion stopped early peaks when it stops, lower.
    scale = np.where((mod == P.IV) & stopped, np.minimum(1.0, treat / 40), 1.0)
    peak_at = np.where((mod == P.IV) & stopped, treat, peak_at)
    return Treated(
        rows=rows, checkin=checkin, start=start, end=end, discharge=discharge, dose=dose, weight=weight,
        modality=mod.astype(np.int8), stopped=stopped,
        sbp0=(patients.sbp[patient] + rng.normal(0, P.SBP_SESSION_SD, n)).astype(np.float32),
        dbp0=(patients.dbp[patient] + rng.normal(0, P.DBP_SESSION_SD, n)).astype(np.float32),
        hr0=(patients.hr[patient] + rng.normal(0, 4, n)).astype(np.float32),
        spo2_0=np.clip(rng.normal(97.8, 0.8, n), 93, 99.6).astype(np.float32),
        rr0=rng.normal(15, 1.5, n).astype(np.float32),
        rise_sbp=(rise_sbp * scale).astype(np.float32), rise_dbp=(rise_dbp * scale).astype(np.float32),
        rise_hr=(rng.normal(*P.HR_RISE, n) * scale).astype(np.float32),
        peak_at=peak_at.astype(np.float32), decay=decay.astype(np.float32),
    )


@dataclass
class VitalsChunk:
    session: np.ndarray  # index into Treated
    at: np.ndarray  # minutes
    sys: np.ndarray
    dia: np.ndarray
    hr: np.ndarray  # -1 = not recorded
    spo2: np.ndarray
    rr: np.ndarray


def vitals_chunk(t: Treated, lo: int, hi: int, rng: np.random.Generator) -> VitalsChunk:
    """Readings for treated sessions lo..hi-1: every 5 minutes during treatment (now and then 10),
    every 10-15 minutes before and after; first at check-in, last at discharge."""
    sl = slice(lo, hi)
    ci, ts, te, dis = t.checkin[sl], t.start[sl], t.end[sl], t.discharge[sl]
    n = hi - lo
    offset = rng.integers(0, 4, n)
    count = (dis - ci - offset) // 5 + 1
    sess = np.repeat(np.arange(n), count)
    starts = np.cumsum(count) - count
    m = np.arange(len(sess)) - np.repeat(starts, count)
    at = ci[sess] + offset[sess] + 5 * m
    step = rng.integers(2, 4, n)[sess]
    in_treat = (at >= ts[sess]) & (at <= te[sess] + 5)
    keep = np.where(in_treat, rng.random(len(sess)) < P.KEEP_IN_TREATMENT, False) | (m % step == 0)
    keep |= (m == 0) | (m == count[sess] - 1)
    sess, at = sess[keep], at[keep]
    g = sess + lo
    tau = (at - t.start[g]).astype(np.float32)
    peak, decay = t.peak_at[g], t.decay[g]
    shape = np.where(tau < 0, 0.0, np.where(tau <= peak, tau / np.maximum(peak, 1),
                                             np.exp(-(tau - peak) / decay))).astype(np.float32)
    k = len(sess)
    sys = np.rint(t.sbp0[g] + t.rise_sbp[g] * shape + rng.normal(0, P.READING_NOISE["sys"], k))
    dia = np.rint(t.dbp0[g] + t.rise_dbp[g] * shape + rng.normal(0, P.READING_NOISE["dia"], k))
    sys = np.clip(sys, 75, 260)
    dia = np.clip(np.minimum(dia, sys - 12), 40, 160)
    hr = np.clip(np.rint(t.hr0[g] + t.rise_hr[g] * shape + rng.normal(0, P.READING_NOISE["hr"], k)), 40, 180)
    spo2 = np.clip(np.rint(t.spo2_0[g] - 0.6 * shape + rng.normal(0, 0.7, k)), 88, 100)
    rr = np.clip(np.rint(t.rr0[g] + rng.normal(0, 1.0, k)), 8, 28)
    hr[rng.random(k) < 0.01] = -1
    spo2[rng.random(k) < 0.01] = -1
    rr[rng.random(k) < 0.08] = -1
    return VitalsChunk(session=g.astype(np.int32), at=at, sys=sys.astype(np.int16), dia=dia.astype(np.int16),
                       hr=hr.astype(np.int16), spo2=spo2.astype(np.int16), rr=rr.astype(np.int16))


# --------------------------------------------------------------------------------------------------
INTERVENTIONS = ["none", "ondansetron", "antihypertensive", "benzodiazepine", "infusion_paused",
                 "infusion_stopped", "other"]
SEVERITIES = ["mild", "moderate", "severe"]


@dataclass
class SideEffects:
    session: np.ndarray  # index into Treated
    effect: np.ndarray  # index into P.EFFECTS
    severity: np.ndarray
    onset: np.ndarray  # minutes; -9999 = not recorded
    intervention: np.ndarray  # index into INTERVENTIONS; -1 = not recorded


def side_effects(t: Treated, b: Bookings, max_sys: np.ndarray, max_dia: np.ndarray,
                 rng: np.random.Generator) -> SideEffects:
    n = len(t)
    k = b.k[t.rows]
    esk = t.modality == P.ESK
    hits: list[tuple[np.ndarray, int]] = []
    for e, name in enumerate(P.EFFECTS):
        if name == "hypertension":
            severe_bp = (max_sys >= 180) | (max_dia >= 110)
            p = np.where(severe_bp, 0.9, np.where((max_sys >= 160) | (max_dia >= 100), 0.15, 0.004))
        else:
            p = np.full(n, P.EFFECT_P[name])
            if name == "dissociation":
                p = np.where(esk, 0.42, p) * np.where(k == 1, 1.15, 1.0)
        hits.append((np.flatnonzero(rng.random(n) < p), e))
    # A stopped-early session always has the effect that stopped it.
    stopped = np.flatnonzero(t.stopped)
    cause = np.array([P.EFFECTS.index(x) for x in ("dissociation", "anxiety", "nausea", "hypertension",
                                                   "tachycardia")])[_choice(rng, len(stopped), [3, 3, 2, 1, 1])]
    session = np.concatenate([h for h, _ in hits] + [stopped])
    effect = np.concatenate([np.full(len(h), e, dtype=np.int8) for h, e in hits] + [cause.astype(np.int8)])
    forced = np.r_[np.zeros(len(session) - len(stopped), bool), np.ones(len(stopped), bool)]
    # One row per (session, effect): the forced one wins.
    order = np.lexsort((~forced, effect, session))
    session, effect, forced = session[order], effect[order], forced[order]
    first = np.r_[True, (session[1:] != session[:-1]) | (effect[1:] != effect[:-1])]
    session, effect, forced = session[first], effect[first], forced[first]
    m = len(session)

    sev = _choice(rng, m, P.SEVERITY_WEIGHTS).astype(np.int8)
    hyp = effect == P.EFFECTS.index("hypertension")
    bp = (max_sys[session] >= 180) | (max_dia[session] >= 110)
    sev = np.where(hyp & bp, np.where(rng.random(m) < 0.6, 1, 2), sev)
    sev = np.where(hyp & ~bp, np.minimum(sev, 1), sev)
    sev = np.where(forced, np.where(rng.random(m) < 0.7, 2, 1), sev).astype(np.int8)

    u = rng.random(m)
    iv = INTERVENTIONS.index
    name = np.asarray(P.EFFECTS)[effect]
    inter = np.full(m, iv("none"), dtype=np.int8)
    inter[(name == "nausea") & (u < np.where(sev > 0, 0.8, 0.4))] = iv("ondansetron")
    inter[(name == "vomiting") & (u < 0.8)] = iv("ondansetron")
    inter[hyp & (u < np.array([0.15, 0.5, 0.9])[sev])] = iv("antihypertensive")
    inter[hyp & (u >= 0.92)] = iv("infusion_paused")
    inter[(name == "anxiety") & (u < 0.15)] = iv("benzodiazepine")
    inter[(name == "dissociation") & (sev == 2) & (u < 0.4)] = iv("infusion_paused")
    inter[(name == "tachycardia") & (u < 0.1)] = iv("infusion_paused")
    inter[(name == "headache") & (u < 0.2)] = iv("other")
    inter[forced] = iv("infusion_stopped")
    inter[(rng.random(m) < 0.03) & ~forced] = -1

    lo = np.array([P.ONSET_RANGE[x][0] for x in P.EFFECTS])[effect]
    hi = np.array([P.ONSET_RANGE[x][1] for x in P.EFFECTS])[effect]
    onset = lo + np.floor(rng.random(m) ** 1.6 * (hi - lo + 1)).astype(np.int64)  # earlier more likely
    treat_len = (t.end - t.start)[session]
    onset = np.where(forced, np.minimum(onset, np.maximum(treat_len - 1, 0)), onset)
    onset = np.where(rng.random(m) < 0.04, -9999, onset)
    return SideEffects(session=session.astype(np.int32), effect=effect, severity=sev,
                       onset=onset.astype(np.int32), intervention=inter)


# --------------------------------------------------------------------------------------------------
INSTRUMENTS = ["PHQ9", "GAD7", "MADRS", "PCL5", "PAIN_NRS"]
_RANGE = {"PHQ9": 27, "GAD7": 21, "MADRS": 60, "PCL5": 80, "PAIN_NRS": 10}


@dataclass
class Assessments:
    patient: np.ndarray
    clinic: np.ndarray
    at: np.ndarray  # minutes
    instrument: np.ndarray  # index into INSTRUMENTS
    score: np.ndarray  # float
    booking: np.ndarray  # index into Bookings, -1 = no session_id
    item9: np.ndarray  # -1 = none


def _effect_share(k: np.ndarray, induction_len: np.ndarray) -> np.ndarray:
    x = k * 6.0 / induction_len
    return (1 - np.exp(-x / P.EFFECT_TAU)) / (1 - math.exp(-6 / P.EFFECT_TAU))


def assessments(b: Bookings, t: Treated, courses: Courses, patients: Patients, days: int,
                rng: np.random.Generator) -> Assessments:
    end_minute = days * DAY
    nb = len(b)
    start_of = np.full(nb, -1, dtype=np.int64)
    start_of[t.rows] = t.start
    treated_rows = t.rows
    course_t = b.course[treated_rows]
    k_t = b.k[treated_rows].astype(np.int64)
    nc = len(courses)
    n_treated = np.zeros(nc, dtype=np.int64)
    np.maximum.at(n_treated, course_t, k_t)
    ind_len = courses.induction_len.astype(np.int64)

    def session_k(mask_k: np.ndarray) -> np.ndarray:
        """Booking row per course for treated sessions selected by mask_k (at most one per course)."""
        out = np.full(nc, -1, dtype=np.int64)
        out[course_t[mask_k]] = treated_rows[mask_k]
        return out

    s1 = session_k(k_t == 1)
    s2 = session_k(k_t == 2)
    last_ind = session_k(k_t == np.minimum(n_treated[course_t], ind_len[course_t]))
    has = s1 >= 0
    cidx = np.flatnonzero(has)
    m = len(cidx)
    pat = courses.patient[cidx]
    ind_name = np.asarray(P.INDICATIONS)[patients.indication[pat]]
    r = courses.improvement[cidx].astype(np.float64)
    L = ind_len[cidx]
    nt = n_treated[cidx]

    # Course-level baselines.
    phq_b = np.clip(np.rint(rng.normal(*P.PHQ9_BASELINE, m)), 2, 27)
    gad_b = np.clip(np.rint(rng.normal(*P.GAD7_BASELINE, m) + 2 * (ind_name == "gad")), 0, 21)
    mad_b = np.clip(np.rint(rng.normal(*P.MADRS_BASELINE, m)), 0, 60)
    pcl_b = np.clip(np.rint(rng.normal(*P.PCL5_BASELINE, m)), 0, 80)
    pain_b = np.round(rng.uniform(*P.PAIN_BASELINE, m) * 2) / 2
    r_gad = np.clip(r * rng.uniform(0.7, 1.1, m) + rng.normal(0, 0.08, m), -0.4, 1.0)
    r_mad = np.clip(r + rng.normal(0, 0.08, m), -0.4, 1.0)
    r_pcl = np.clip(r * 0.85 + rng.normal(0, 0.08, m), -0.4, 1.0)
    r_pain = np.clip(r * 0.7 + rng.normal(0, 0.08, m), -0.4, 1.0)
    item9_b = np.where(rng.random(m) < np.where(ind_name == "suicidal_ideation", 0.9, 0.35),
                       1 + rng.binomial(2, 0.35, m), 0)
    item9_b = np.minimum(item9_b, phq_b)
    with_gad = rng.random(m) < P.P_GAD7
    with_madrs = rng.random(m) < P.P_MADRS_COURSE
    with_pcl = (ind_name == "ptsd") & (rng.random(m) < P.P_PCL5_PTSD)
    with_pain = np.isin(ind_name, ["chronic_pain", "fibromyalgia"]) & (rng.random(m) < P.P_PAIN_NRS)

    # Time points: (course position, minute, booking or -1, effect share, which point)
    points = []
    ts1 = start_of[s1[cidx]]
    same_day = rng.random(m) < P.P_BASELINE_SAME_DAY
    intake_day = ts1 // DAY - rng.integers(1, 22, m)
    intake_at = intake_day * DAY + rng.integers(9 * 60, 17 * 60, m)
    same_day |= intake_at < 0
    base_at = np.where(same_day, ts1 - rng.integers(3, 16, m), intake_at)
    base_bk = np.where(same_day & (rng.random(m) < 0.95), s1[cidx], -1)
    keep = rng.random(m) >= P.P_NO_BASELINE
    points.append((np.flatnonzero(keep), base_at[keep], base_bk[keep], np.zeros(keep.sum()), 0))

    has2 = (s2[cidx] >= 0) & (rng.random(m) < P.P_EARLY)
    j = np.flatnonzero(has2)
    at = (start_of[s2[cidx[j]]] // DAY + 1) * DAY + rng.integers(8 * 60, 21 * 60, len(j))
    bk = np.where(rng.random(len(j)) < 0.6, s2[cidx[j]], -1)
    points.append((j, at, bk, _effect_share(np.full(len(j), 2), L[j]), 1))

    completer = nt >= L
    exit_p = np.where(completer, P.P_POST_INDUCTION, np.where(nt >= 3, P.P_EXIT_DROPOUT, 0.0))
    j = np.flatnonzero(rng.random(m) < exit_p)
    last_ts = start_of[last_ind[cidx[j]]]
    at = (last_ts // DAY + rng.integers(1, 11, len(j))) * DAY + rng.integers(8 * 60, 21 * 60, len(j))
    bk = np.where(completer[j] & (rng.random(len(j)) < 0.6), last_ind[cidx[j]], -1)
    points.append((j, at, bk, _effect_share(np.minimum(nt[j], L[j]), L[j]), 2))

    # Boosters: assessed just before the session; some relapse since the end of induction.
    boost_mask = k_t > ind_len[course_t]
    brow = treated_rows[boost_mask]
    pos_of_course = np.full(nc, -1, dtype=np.int64)
    pos_of_course[cidx] = np.arange(m)
    bj = pos_of_course[course_t[boost_mask]]
    sel = (bj >= 0) & (rng.random(len(brow)) < P.P_BOOSTER_ASSESSED)
    brow, bj = brow[sel], bj[sel]
    points.append((bj, start_of[brow] - rng.integers(3, 16, len(brow)), brow, rng.uniform(0.55, 0.95, len(brow)), 3))

    cols = {f: [] for f in ("pos", "at", "bk", "inst", "score", "item9")}

    def emit(pos, at, bk, inst, score, item9=None):
        cols["pos"].append(pos)
        cols["at"].append(at)
        cols["bk"].append(bk)
        cols["inst"].append(np.full(len(pos), INSTRUMENTS.index(inst), dtype=np.int8))
        cols["score"].append(score.astype(np.float64))
        cols["item9"].append(np.full(len(pos), -1) if item9 is None else item9)

    for pos, at, bk, share, which in points:
        q = len(pos)
        phq = np.clip(np.rint(phq_b[pos] * (1 - r[pos] * share) + rng.normal(0, 1.3, q)), 0, 27)
        if which == 0:
            phq = phq_b[pos]
        ratio = np.where(phq_b[pos] > 0, phq / np.maximum(phq_b[pos], 1), 0)
        item9 = np.where(which == 0, item9_b[pos],
                         np.clip(np.rint(item9_b[pos] * ratio + rng.normal(0, 0.3, q)), 0, 3))
        item9 = np.minimum(item9, phq).astype(np.int64)
        emit(pos, at, bk, "PHQ9", phq, item9)
        g = with_gad[pos]
        gad = gad_b[pos] if which == 0 else np.clip(
            np.rint(gad_b[pos] * (1 - r_gad[pos] * share) + rng.normal(0, 1.2, q)), 0, 21)
        emit(pos[g], at[g], bk[g], "GAD7", gad[g])
        if which in (0, 2):
            g = with_madrs[pos]
            mad = mad_b[pos] if which == 0 else np.clip(
                np.rint(mad_b[pos] * (1 - r_mad[pos] * share) + rng.normal(0, 2.0, q)), 0, 60)
            # Clinician-rated: tied to a session when there is one.
            emit(pos[g], at[g] + 1, bk[g], "MADRS", mad[g])
        g = with_pcl[pos]
        pcl = pcl_b[pos] if which == 0 else np.clip(
            np.rint(pcl_b[pos] * (1 - r_pcl[pos] * share) + rng.normal(0, 3.0, q)), 0, 80)
        emit(pos[g], at[g], bk[g], "PCL5", pcl[g])
        g = with_pain[pos]
        pain = pain_b[pos] if which == 0 else np.clip(
            np.round((pain_b[pos] * (1 - r_pain[pos] * share) + rng.normal(0, 0.5, q)) * 2) / 2, 0, 10)
        emit(pos[g], at[g], bk[g], "PAIN_NRS", pain[g])

    pos = np.concatenate(cols["pos"]).astype(np.int64)
    at = np.concatenate(cols["at"]).astype(np.int64)
    keep = at < end_minute
    pos, at = pos[keep], at[keep]
    bk = np.concatenate(cols["bk"]).astype(np.int64)[keep]
    inst = np.concatenate(cols["inst"])[keep]
    score = np.concatenate(cols["score"])[keep]
    item9 = np.concatenate(cols["item9"]).astype(np.int64)[keep]
    patient = pat[pos]
    order = np.lexsort((inst, patient, at))
    return Assessments(patient=patient[order].astype(np.int32), clinic=courses.clinic[cidx[pos]][order],
                       at=at[order], instrument=inst[order], score=score[order], booking=bk[order],
                       item9=item9[order].astype(np.int8))

