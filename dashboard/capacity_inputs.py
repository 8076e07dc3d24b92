"""The capacity rows behind every utilization, lost-capacity and planning figure, in words.

A clinics row in quarantine is not used: the row valid before it stretches over its dates, so a clinic that
went from 8 chairs to 10 keeps being measured against 8, and nothing on the Capacity page said so. These
pure functions turn `queries.capacity_quarantine` and `queries.capacity_rows` into sentences the pages show.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard import format as fmt


def _hhmm(value: object) -> str:
    return value.strftime("%H:%M") if isinstance(value, dt.time) else str(value)


def days_text(open_days: object) -> str:
    """"Mon–Fri" for a run of three days or more, else the days as the row lists them."""
    days = list(open_days) if open_days is not None and not isinstance(open_days, str) else []
    order = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    index = [order.index(d) for d in days if d in order]
    if len(index) == len(days) > 2 and index == list(range(index[0], index[0] + len(index))):
        return f"{days[0]}–{days[-1]}"
    return ", ".join(days) or "no open day"


def capacity_text(chairs: object, opens: object, closes: object, open_days: object) -> str:
    """"8 chairs, 07:00–19:00, Mon–Fri"."""
    chair_word = "chair" if chairs == 1 else "chairs"
    return f"{fmt.count(chairs)} {chair_word}, {_hhmm(opens)}–{_hhmm(closes)}, {days_text(open_days)}"


def _stands_in(rows: pd.DataFrame, quarantined: pd.DataFrame | None) -> list[str]:
    """For each capacity row, the quarantined rows whose dates it covers ("row from 14 Feb 2026"), or ""."""
    covers: dict[tuple, list[str]] = {}
    if quarantined is not None and not quarantined.empty:
        for q in quarantined.to_dict("records"):
            meant = _meant(q)
            if meant is None or q.get("used_chairs") is None or pd.isna(q.get("used_chairs")):
                continue  # applies to no day, or no row stands in
            covers.setdefault((q["clinic_id"], _day(q.get("used_valid_from"))), []).append(f"row from {meant}")
    return ["; ".join(covers.get((r["clinic_id"], _day(r["valid_from"])), [])) for r in rows.to_dict("records")]


def rows_table(rows: pd.DataFrame, quarantined: pd.DataFrame | None = None) -> pd.DataFrame:
    """metrics.capacity_rows for reading: open ends in words, hours and days as one text each, and (given
    queries.capacity_quarantine) which quarantined rows each one stands in for."""
    records = rows.to_dict("records")
    return pd.DataFrame({
        "Clinic": [r["clinic_name"] for r in records],
        "From": [_day(r["valid_from"]) or "the start" for r in records],
        "Until": [_day(r["valid_to"]) or "now" for r in records],
        "In place of quarantined": _stands_in(rows, quarantined),
        "Chairs": [int(r["chairs"]) for r in records],
        "Hours": [f"{_hhmm(r['opens_at'])}–{_hhmm(r['closes_at'])}" for r in records],
        "Open days": [days_text(r["open_days"]) for r in records],
        "Treated sessions": [int(r["treated_sessions"]) for r in records],
        "On closed days": [int(r["closed_day_sessions"]) for r in records],
        "Chair-hours outside hours": [round(float(r["chair_hours_outside_window"]), 1) for r in records],
    })


def _day(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return fmt.date(pd.Timestamp(value).date())


def _meant(r: dict) -> str | None:
    """The day a quarantined row was meant to start, in words; None when its text is no date."""
    text = (r.get("valid_from_text") or "").strip()
    if not text:
        return "the start"
    day = r.get("meant_from")
    return None if day is None or pd.isna(day) else fmt.date(pd.Timestamp(day).date())


def quarantine_sentences(rows: pd.DataFrame) -> list[str]:
    """One sentence per open quarantined clinics row: which clinic and date, why, and what the figures use."""
    out = []
    for r in rows.to_dict("records"):
        meant = _meant(r)
        why = f"{r['file']} row {fmt.count(r['row_number'])}: {r['reasons']}"
        if meant is None:
            out.append(f"{r['clinic_name']}: a clinics row is in quarantine ({why}); its start date "
                       f"“{r['valid_from_text'].strip()}” cannot be read, so it applies to no day and the figures use "
                       "the clinic's other rows as if it were not there. Correct it in the extract and load the file "
                       "again.")
            continue
        when = "meant to apply from the start" if meant == "the start" else f"meant to start {meant}"
        if r.get("used_chairs") is None or pd.isna(r.get("used_chairs")):
            used = "no other row covers its dates, so those days count as closed (no available chair time)"
        else:
            since = _day(r.get("used_valid_from"))  # none: the row that applies from the start
            row_name = f"the row from {since}" if since else "the clinic's first row"
            until = _day(r.get("affects_until"))
            used = (f"the figures use {row_name} in its place"
                    + (f" until {until}, when the next row starts" if until else "") + ": "
                    + capacity_text(r["used_chairs"], r["used_opens_at"], r["used_closes_at"], r["used_open_days"]))
        out.append(f"{r['clinic_name']}: the clinics row {when} is in quarantine ({why}); {used}. "
                   "Correct it in the extract and load the file again.")
    return out


IN_THE_APP = "See Data quality › Capacity the figures use."


def warning_text(rows: pd.DataFrame, subject: str = "the figures here use", start: dt.date | None = None,
                 until: dt.date | None = None, see: str = IN_THE_APP) -> str | None:
    """The Capacity and Planning pages' warning: which clinics' capacity rows are in quarantine and from when.
    With a period (`start`, `until`), only rows whose dates reach into it: a row meant to start after the period,
    or replaced by a later row before the period begins, changes none of its figures. A row whose date cannot
    be read applies to no day and changes nothing either."""
    if rows.empty:
        return None
    meant = pd.to_datetime(rows["meant_from"])
    ends = pd.to_datetime(rows["affects_until"]) if "affects_until" in rows else pd.Series(pd.NaT, index=rows.index)
    keep = meant.notna()
    if until is not None:
        keep &= meant <= pd.Timestamp(until)
    if start is not None:
        keep &= ends.isna() | (ends > pd.Timestamp(start))
    rows = rows[keep]
    if rows.empty:
        return None
    named = "; ".join(f"{r['clinic_name']} from {_meant(r)}: {r['reasons']}" for r in rows.to_dict("records"))
    what = "A capacity row is" if len(rows) == 1 else f"{len(rows)} capacity rows are"
    return (f"{what} in quarantine ({named}): {subject} the row valid before it, so chairs, hours or open days "
            f"may be out of date. {see}")


def outside_sentences(rows: pd.DataFrame) -> list[str]:
    """One sentence per capacity row whose sessions fall on its closed days or outside its hours."""
    out = []
    for r in rows.to_dict("records"):
        closed, outside = int(r["closed_day_sessions"] or 0), float(r["chair_hours_outside_window"] or 0)
        if not closed and outside < 0.05:
            continue
        since = _day(r["valid_from"])
        parts = []
        if closed:
            parts.append(f"{fmt.count(closed)} treated {'session' if closed == 1 else 'sessions'} on days it says "
                         "are closed")
        if outside >= 0.05:
            parts.append(f"{fmt.number(outside)} chair-hours outside its hours")
        out.append(f"{r['clinic_name']}, the row {'from ' + since if since else 'from the start'} "
                   f"({capacity_text(r['chairs'], r['opens_at'], r['closes_at'], r['open_days'])}): "
                   f"{' and '.join(parts)}, which utilization does not count. Check its open days and hours.")
    return out
