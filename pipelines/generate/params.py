"""Every figure the sample-data generator uses, with where it comes from.

docs/sample-data.md explains these in prose. Figures marked "assumption" are design choices that
look plausible for US community ketamine clinics but have no single published source; the others
cite the publication they were taken from.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------------------
# Clinics. (code, city, IANA zone), interleaved across zones so any first N clinics span several.
# Assumption: community clinics are mostly 3-12 chairs; hours and weekdays vary by clinic.
CITIES: list[tuple[str, str, str]] = [
    ("OKC", "Oklahoma City", "America/Chicago"),
    ("NYC", "New York", "America/New_York"),
    ("DEN", "Denver", "America/Denver"),
    ("LAX", "Los Angeles", "America/Los_Angeles"),
    ("PHX", "Phoenix", "America/Phoenix"),
    ("TUL", "Tulsa", "America/Chicago"),
    ("BOS", "Boston", "America/New_York"),
    ("SLC", "Salt Lake City", "America/Denver"),
    ("SEA", "Seattle", "America/Los_Angeles"),
    ("AUS", "Austin", "America/Chicago"),
    ("ATL", "Atlanta", "America/New_York"),
    ("ABQ", "Albuquerque", "America/Denver"),
    ("SFO", "San Francisco", "America/Los_Angeles"),
    ("TUS", "Tucson", "America/Phoenix"),
    ("DAL", "Dallas", "America/Chicago"),
    ("PHL", "Philadelphia", "America/New_York"),
    ("BOI", "Boise", "America/Boise"),
    ("PDX", "Portland", "America/Los_Angeles"),
    ("HOU", "Houston", "America/Chicago"),
    ("MIA", "Miami", "America/New_York"),
    ("COS", "Colorado Springs", "America/Denver"),
    ("SAN", "San Diego", "America/Los_Angeles"),
    ("MSP", "Minneapolis", "America/Chicago"),
    ("CLT", "Charlotte", "America/New_York"),
    ("IND", "Indianapolis", "America/Indiana/Indianapolis"),
    ("LAS", "Las Vegas", "America/Los_Angeles"),
    ("STL", "St. Louis", "America/Chicago"),
    ("RDU", "Raleigh", "America/New_York"),
    ("ANC", "Anchorage", "America/Anchorage"),
    ("SAC", "Sacramento", "America/Los_Angeles"),
    ("MCI", "Kansas City", "America/Chicago"),
    ("TPA", "Tampa", "America/New_York"),
    ("HNL", "Honolulu", "Pacific/Honolulu"),
    ("MSY", "New Orleans", "America/Chicago"),
    ("PIT", "Pittsburgh", "America/New_York"),
    ("BNA", "Nashville", "America/Chicago"),
    ("CLE", "Cleveland", "America/New_York"),
    ("MKE", "Milwaukee", "America/Chicago"),
    ("DTW", "Detroit", "America/Detroit"),
    ("OMA", "Omaha", "America/Chicago"),
    ("BWI", "Baltimore", "America/New_York"),
    ("SAT", "San Antonio", "America/Chicago"),
    ("RIC", "Richmond", "America/New_York"),
    ("MEM", "Memphis", "America/Chicago"),
    ("CMH", "Columbus", "America/New_York"),
    ("ELP", "El Paso", "America/Denver"),
    ("JAX", "Jacksonville", "America/New_York"),
    ("LIT", "Little Rock", "America/Chicago"),
]
CLINIC_SUFFIXES = ["Ketamine Center", "Infusion Clinic", "Mood & Wellness", "Ketamine Institute",
                   "Interventional Psychiatry"]

# (opens_at, closes_at) and open-day templates; the first clinics take them in order so that even a
# three-clinic batch has different hours and weekdays. Assumption.
HOURS = [("07:00", "19:00"), ("08:00", "17:00"), ("08:00", "18:00"), ("07:30", "16:30"),
         ("09:00", "18:00"), ("08:00", "20:00")]
DAYS = [("Mon", "Tue", "Wed", "Thu", "Fri"), ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat"),
        ("Tue", "Wed", "Thu", "Fri", "Sat"), ("Mon", "Tue", "Wed", "Thu")]
DAYS_WEIGHTS = [0.55, 0.30, 0.10, 0.05]
CHAIRS = list(range(3, 13))
CHAIRS_WEIGHTS = [0.06, 0.12, 0.16, 0.18, 0.16, 0.12, 0.08, 0.06, 0.04, 0.02]
CAPACITY_CHANGE_SHARE = 0.25  # share of clinics (besides the first) that add chairs during the period

# Public holidays (assumption). US outpatient practices close on the major federal holidays and
# mostly stay open on the others. Each clinic draws once which of these it keeps, with these chances,
# and is closed on the observed date (a Saturday holiday on the Friday before, a Sunday one on the
# Monday after) of every year in the period: no chair time and no new patients that day, and the
# visits due that day move to the next open day, as on any closed day.
HOLIDAY_CLOSURE = {
    "New Year's Day": 1.0, "Memorial Day": 0.85, "Independence Day": 0.95, "Labor Day": 0.85,
    "Thanksgiving": 1.0, "Christmas Day": 1.0,
}

# --------------------------------------------------------------------------------------------------
# Demand (assumption). New patients are sized so the expected chair utilization follows a target
# that grows from UTIL_START to UTIL_END over the period with a winter peak / summer trough; the load
# still coming from earlier courses (boosters, return courses) is subtracted first. Booking is
# limited by chairs and hours, so realized utilization runs a few points below the target at peaks.
UTIL_START, UTIL_END = 0.62, 0.78
SEASON_AMPLITUDE = 0.06
SEASON_PEAK_DOY = 25  # late January
CLINIC_DEMAND_SPREAD = (0.93, 1.03)
RAMP_DAYS = 21  # the first three weeks get extra new patients so the network does not start empty
INDUCTION_WINDOW_DAYS = 35  # a course's first weeks; later load (boosters, returns) is carried over
MAX_WAIT_DAYS = 28  # a new patient not booked within four weeks goes elsewhere (assumption)

# --------------------------------------------------------------------------------------------------
# Patients. Indication mix led by depression (assumption, consistent with the real-world cohorts
# below being mostly depression); medication shares as given in issue 2.
INDICATIONS = ["mdd", "bipolar_depression", "ptsd", "gad", "suicidal_ideation", "postpartum_depression",
               "ocd", "chronic_pain", "fibromyalgia", "substance_use", "other"]
INDICATION_WEIGHTS = [0.58, 0.08, 0.08, 0.06, 0.05, 0.03, 0.03, 0.03, 0.02, 0.02, 0.02]
SEX = ["F", "M", "X", "U"]
SEX_WEIGHTS = [0.60, 0.385, 0.01, 0.005]
AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX = 41.0, 13.0, 18, 82
# P(flag) by indication group: overall about lamotrigine 10%, benzodiazepine 25%, opioid 8%, MAOI 1%.
LAMOTRIGINE = {"bipolar_depression": 0.45, "_": 0.07}
BENZODIAZEPINE = {"gad": 0.40, "ptsd": 0.40, "_": 0.23}
OPIOID = {"chronic_pain": 0.35, "fibromyalgia": 0.35, "substance_use": 0.15, "_": 0.065}
MAOI = 0.01
WEIGHT_KG = {"F": (74.0, 17.0), "M": (89.0, 17.0)}  # mean, sd; clipped to 45-160
WEIGHT_MIN, WEIGHT_MAX = 45.0, 160.0

# --------------------------------------------------------------------------------------------------
# Modalities. Esketamine (Spravato) is labelled for treatment-resistant depression and MDD with acute
# suicidal ideation, so only those indications get it; ~16% of courses overall (issue 2: 15-20%).
ESKETAMINE_SHARE_IF_ELIGIBLE = 0.22
ESKETAMINE_INDICATIONS = ("mdd", "suicidal_ideation")
IM_SHARE = 0.04
IV, IM, ESK = 0, 1, 2
MODALITIES = ["iv_ketamine", "im_ketamine", "esketamine_nasal"]
INDUCTION_LEN = {IV: 6, IM: 6, ESK: 8}
# Chair time booked per session, in 15-minute units (door to door plus late arrival and turnover).
BLOCK_UNITS = {IV: 7, IM: 6, ESK: 11}

# Dropout (Osmind ORKA-2, presented at ASKP3 2022, reported by McInnes on the Osmind blog, 2022-06-20):
# "almost 50% of patients did not complete all 6 infusions and 20% dropped out after the first".
# P(number of treated induction sessions = n), n = 1..6 (ketamine) / 1..8 (esketamine).
KETAMINE_INDUCTION_REACHED = [0.20, 0.09, 0.08, 0.07, 0.06, 0.50]
ESKETAMINE_INDUCTION_REACHED = [0.18, 0.07, 0.06, 0.05, 0.05, 0.05, 0.04, 0.50]
DROPOUT_RESPONSE_CORRELATION = 0.45  # Gaussian copula: poorer responders stop earlier (assumption)

# Induction spacing. Ketamine: 6 infusions within about 3 weeks (Oliver 2022: "6 infusions within
# 21 days"), never on consecutive days. Esketamine: twice weekly for 4 weeks (Spravato label).
KETAMINE_GAP_DAYS = [2, 3, 4, 5, 7]
KETAMINE_GAP_WEIGHTS = [0.40, 0.33, 0.17, 0.06, 0.04]
# Boosters for a share of completers, 28-168 days apart, typically 4-6 weeks (issue 2; Oliver 2022
# offered maintenance "based on clinical response").
BOOSTER_SHARE = 0.55
BOOSTER_COUNT_P = 0.30  # geometric: mean ~3.3 boosters
BOOSTER_MAX = 12
BOOSTER_GAP_BANDS = [((28, 42), 0.70), ((43, 84), 0.20), ((85, 150), 0.10)]  # + make-up delays
# A second course more than 180 days after the last session of the first (assumption).
RETURN_SHARE_COMPLETER = 0.14
RETURN_SHARE_OTHER = 0.05
RETURN_DELAY_DAYS = (185, 420)
RETURN_SWITCH_FAMILY = 0.15
# Attendance (assumption; issue 2: ~5% no-shows, some cancellations). A course ends after three
# failed attempts in a row.
P_NO_SHOW = 0.05
P_CANCELLED = 0.03
RESCHEDULE_DAYS = (2, 5)
MAX_FAILED_ATTEMPTS = 3
P_STOPPED_EARLY = {IV: 0.015, IM: 0.005, ESK: 0.008}

# --------------------------------------------------------------------------------------------------
# Session timing (minutes). IV: 0.5 mg/kg over 40 minutes (Oliver 2022; standard protocol), about
# 90 minutes door to door. Esketamine: one device every 5 minutes, monitored at least 2 h after the
# dose (Spravato label / REMS). IM: a single injection with about an hour of observation (assumption).
LATE_ARRIVAL = (0, 10)
IV_PRE, IV_INFUSION, IV_POST = (8, 20), (38, 44), (28, 45)
IM_PRE, IM_TREAT, IM_POST = (8, 15), (2, 5), (40, 60)
ESK_PRE, ESK_MONITOR_EXTRA = (5, 15), (0, 30)  # treatment_start -> discharge = 120 + extra
TURNOVER = 5
# IV dose plan in mg/kg (issue 2: 0.5 for most, some 0.75-1.0) and a share that titrates upward.
IV_MGKG = [0.5, 0.6, 0.75, 0.9, 1.0]
IV_MGKG_WEIGHTS = [0.72, 0.06, 0.12, 0.05, 0.05]
IV_TITRATE_SHARE = 0.15
IM_MGKG = [0.5, 0.75, 1.0]
IM_MGKG_WEIGHTS = [0.6, 0.3, 0.1]
# Esketamine: day 1 56 mg (28 mg for 65+), then 56 or 84 mg (Spravato label).
ESK_ESCALATE_SHARE = 0.6
ESK_WEIGHT_RECORDED = 0.2

# --------------------------------------------------------------------------------------------------
# Vitals. Yale cohort (Gen Hosp Psychiatry 2024, doi:10.1016/j.genhosppsych.2024.07.001): 2,342
# infusions in 138 patients; SBP and DBP peaked 40 min after the start of the infusion with mean
# changes of 16.0 (SD 11.2) and 11.0 (SD 8.45) mmHg; severe hypertension in 0.98% of sessions, 43%
# of those in the first three infusions; older age associated with larger surges.
BP_PEAK_MIN = {IV: 40, IM: 20, ESK: 40}
SBP_RISE = (16.0, 9.0)
DBP_RISE = (11.0, 0.55)  # mean; share of the systolic rise it follows
HR_RISE = (7.0, 5.0)
EARLY_SESSION_RISE_FACTOR = 1.12  # sessions 1-3
SBP_BASE_INTERCEPT, SBP_BASE_PER_AGE, SBP_PATIENT_SD, SBP_SESSION_SD = 108.0, 0.38, 9.5, 3.5
DBP_BASE_INTERCEPT, DBP_BASE_PER_AGE, DBP_PATIENT_SD, DBP_SESSION_SD = 68.0, 0.22, 4.0, 2.5
READING_NOISE = {"sys": 3.0, "dia": 2.5, "hr": 2.5}
KEEP_IN_TREATMENT = 0.92  # during treatment a reading every 5 min, now and then 10

# --------------------------------------------------------------------------------------------------
# Side effects per treated session (issue 2 figures: dizziness ~45%, dissociation ~35%, nausea ~13%,
# headache 10-15%, anxiety ~10%, hypertension 3-5%, others rare).
EFFECTS = ["dissociation", "nausea", "vomiting", "dizziness", "headache", "anxiety", "hypertension",
           "tachycardia", "blurred_vision", "sedation", "other"]
EFFECT_P = {
    "dissociation": 0.35, "nausea": 0.13, "vomiting": 0.025, "dizziness": 0.45, "headache": 0.12,
    "anxiety": 0.10, "tachycardia": 0.02, "blurred_vision": 0.04, "sedation": 0.05, "other": 0.01,
}  # hypertension comes from the session's blood pressure, see clinical.side_effects
SEVERITY_WEIGHTS = [0.74, 0.22, 0.04]  # mild, moderate, severe
ONSET_RANGE = {
    "dissociation": (3, 30), "nausea": (10, 90), "vomiting": (20, 120), "dizziness": (5, 60),
    "headache": (20, 600), "anxiety": (-30, 30), "hypertension": (15, 60), "tachycardia": (5, 45),
    "blurred_vision": (5, 45), "sedation": (15, 90), "other": (0, 600),
}

# --------------------------------------------------------------------------------------------------
# Outcomes. Targets among evaluable PHQ-9 courses: ~55% response, ~30% remission. McInnes 2022
# (J Affect Disord, doi:10.1016/j.jad.2021.12.097): 53.6% response, 28.9% remission (PHQ-9 < 5),
# n=537. Oliver 2022 (J Clin Psychiatry 83(6):21m14336): 50% / 20% within 6 weeks. Benzodiazepines
# may blunt ketamine's effect (Andrade 2017; Feeney 2023); lamotrigine and opioids lowered here as a
# design choice of issue 2 (assumption).
# Improvement is a mixture: responders (most of them ending near remission) and non-responders.
RESPONDER_SHARE = 0.53
RESPONDER_IMPROVEMENT = (0.86, 0.13)  # mean, sd
NON_RESPONDER_IMPROVEMENT = (0.22, 0.22)
IMPROVEMENT_MIN, IMPROVEMENT_MAX = -0.35, 1.0
MED_FACTOR = {"lamotrigine": 0.75, "benzodiazepine": 0.85, "opioid": 0.85}
EFFECT_TAU = 1.6  # share of the full effect after k sessions: (1-exp(-k/tau)) / (1-exp(-6/tau))
PHQ9_BASELINE = (17.5, 4.3)
GAD7_BASELINE = (13.0, 4.3)
MADRS_BASELINE = (31.0, 6.0)
PCL5_BASELINE = (50.0, 10.0)
PAIN_BASELINE = (5.0, 9.0)
P_BASELINE_SAME_DAY = 0.75
P_NO_BASELINE = 0.03
P_EARLY = 0.85
P_POST_INDUCTION = 0.85
P_EXIT_DROPOUT = 0.35
P_BOOSTER_ASSESSED = 0.8
P_GAD7 = 0.9
P_MADRS_COURSE = 0.10
P_PCL5_PTSD = 0.7
P_PAIN_NRS = 0.9
