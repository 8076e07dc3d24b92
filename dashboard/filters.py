"""The filters every page shares (clinics, period, modality, indication) and their URL form.

Pure functions only: the sidebar (dashboard.ui) reads and writes st.query_params through
`from_query_params` / `to_query_params`, and the query layer reads `Filters`.

URL parameters (repeat a key for several values):
    clinic=OKC&clinic=NYC   clinic ids
    start=2026-04-01        first day, inclusive (YYYY-MM-DD)
    end=2026-06-30          last day, inclusive
    modality=iv_ketamine    iv_ketamine, im_ketamine, esketamine_nasal
    indication=mdd          an indication code
Unknown or malformed values are ignored with a message; they never raise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from dashboard import format as fmt

PARAM_CLINIC = "clinic"
PARAM_START = "start"
PARAM_END = "end"
PARAM_MODALITY = "modality"
PARAM_INDICATION = "indication"
URL_PARAMS = (PARAM_CLINIC, PARAM_START, PARAM_END, PARAM_MODALITY, PARAM_INDICATION)

MAX_VALUES = 200  # per parameter
MAX_VALUE_LENGTH = 64


@dataclass(frozen=True)
class Filters:
    """What the viewer asked for. Empty tuples mean "all"; None dates mean "open"."""

    clinics: tuple[str, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    modalities: tuple[str, ...] = ()
    indications: tuple[str, ...] = ()

    def period_label(self) -> str:
        return fmt.period(self.start, self.end)

    def days(self) -> int | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).days + 1

    def previous(self) -> Filters | None:
        """The same filters over the period just before this one (None if open): as many whole calendar
        months when the period is whole months (Q2 against Q1, not against the 91 days from 31 Dec, so
        figures reconcile with last quarter's report), else the same number of days."""
        length = self.days()
        if length is None or self.start is None:
            return None
        end = self.start - dt.timedelta(days=1)
        months = self.whole_months()
        if months:
            index = self.start.year * 12 + self.start.month - 1 - months
            return replace(self, start=dt.date(index // 12, index % 12 + 1, 1), end=end)
        return replace(self, start=end - dt.timedelta(days=length - 1), end=end)

    def whole_months(self) -> int | None:
        """How many calendar months the period is, when it starts on a 1st and ends on a month's last day."""
        if self.start is None or self.end is None or self.start.day != 1 or (self.end + dt.timedelta(days=1)).day != 1:
            return None
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def with_period(self, start: dt.date | None, end: dt.date | None) -> Filters:
        return replace(self, start=start, end=end)


@dataclass(frozen=True)
class FilterOptions:
    """What can be chosen: clinic id -> name, modality and indication codes, the data's first/last day."""

    clinics: Mapping[str, str] = field(default_factory=dict)
    modalities: Sequence[str] = ()
    indications: Sequence[str] = ()
    data_start: dt.date | None = None
    data_end: dt.date | None = None


@dataclass(frozen=True)
class DefaultPeriod:
    start: dt.date | None
    end: dt.date | None
    label: str  # "Q2 2026" or "the whole data range"


def quarter_of(day: dt.date) -> tuple[dt.date, dt.date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, first_month, 1)
    next_start = dt.date(day.year + (first_month == 10), (first_month + 2) % 12 + 1, 1)
    return start, next_start - dt.timedelta(days=1)


def default_period(data_start: dt.date | None, data_end: dt.date | None) -> DefaultPeriod:
    """The last full calendar quarter inside the data, or the data range if it holds no full quarter."""
    if data_start is None or data_end is None:
        return DefaultPeriod(None, None, "all data")
    q_start, q_end = quarter_of(data_end)
    if q_end != data_end:
        q_start, q_end = quarter_of(q_start - dt.timedelta(days=1))
    if q_start < data_start:
        return DefaultPeriod(data_start, data_end, "the whole data range (shorter than a full quarter)")
    return DefaultPeriod(q_start, q_end, f"Q{(q_start.month - 1) // 3 + 1} {q_start.year}, the last full quarter")


def _values(params: Mapping[str, object], key: str) -> list[str]:
    raw = params.get(key)
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)  # type: ignore[arg-type]
    out: list[str] = []
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def _short(value: str) -> str:
    return value if len(value) <= 24 else value[:21] + "…"


def _choice_list(params: Mapping[str, object], key: str, allowed: Sequence[str], what: str,
                 messages: list[str]) -> tuple[str, ...]:
    values = _values(params, key)
    if len(values) > MAX_VALUES:
        messages.append(f"The link names more than {MAX_VALUES} {what} values; only the first {MAX_VALUES} were read.")
        values = values[:MAX_VALUES]
    known = [v for v in values if len(v) <= MAX_VALUE_LENGTH and v in allowed]
    unknown = [v for v in values if v not in known]
    if unknown:
        shown = ", ".join(f"“{_short(v)}”" for v in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        messages.append(f"Ignored {what} in the link that this warehouse does not have: {shown}.")
    return tuple(known)


def _date(params: Mapping[str, object], key: str, what: str, messages: list[str]) -> dt.date | None:
    values = _values(params, key)
    if not values:
        return None
    text = values[0]
    try:
        if len(text) > 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        messages.append(f"Ignored the {what} date in the link, “{_short(text)}”: write dates as YYYY-MM-DD.")
        return None


def from_query_params(params: Mapping[str, object], options: FilterOptions,
                      allowed_clinics: Sequence[str] | None = None) -> tuple[Filters, list[str]]:
    """Read filters from URL parameters. Returns the filters and messages about what was ignored.

    A missing period gives the default period; a period outside the data is clipped to it."""
    messages: list[str] = []
    clinic_ids = list(options.clinics) if allowed_clinics is None else [c for c in options.clinics if c in allowed_clinics]
    clinics = _choice_list(params, PARAM_CLINIC, clinic_ids, "clinic", messages)
    modalities = _choice_list(params, PARAM_MODALITY, list(options.modalities), "modality", messages)
    indications = _choice_list(params, PARAM_INDICATION, list(options.indications), "indication", messages)
    start = _date(params, PARAM_START, "start", messages)
    end = _date(params, PARAM_END, "end", messages)
    default = default_period(options.data_start, options.data_end)
    if start is not None and end is not None and start > end:
        messages.append(f"Ignored the period in the link: it starts ({start}) after it ends ({end}).")
        start = end = None
    if start is None and end is None:
        start, end = default.start, default.end
    elif start is None:
        start = min(options.data_start or end, end)  # type: ignore[type-var]
    elif end is None:
        end = max(options.data_end or start, start)
    start, end = _clip(start, end, options, messages)
    return Filters(clinics, start, end, modalities, indications), messages


def _clip(start: dt.date | None, end: dt.date | None, options: FilterOptions,
          messages: list[str]) -> tuple[dt.date | None, dt.date | None]:
    lo, hi = options.data_start, options.data_end
    if lo is None or hi is None or start is None or end is None:
        return start, end
    if end < lo or start > hi:
        default = default_period(lo, hi)
        messages.append(
            f"The period in the link ({fmt.period(start, end)}) lies outside the data "
            f"({fmt.period(lo, hi)}); showing {default.label} instead."
        )
        return default.start, default.end
    if start < lo or end > hi:
        messages.append(
            f"The period in the link was clipped to the data ({fmt.period(lo, hi)})."
        )
    return max(start, lo), min(end, hi)


def to_query_params(filters: Filters) -> dict[str, list[str] | str]:
    """The URL form of the filters (start and end always, so a bookmark keeps its period)."""
    out: dict[str, list[str] | str] = {}
    if filters.clinics:
        out[PARAM_CLINIC] = list(filters.clinics)
    if filters.start is not None:
        out[PARAM_START] = filters.start.isoformat()
    if filters.end is not None:
        out[PARAM_END] = filters.end.isoformat()
    if filters.modalities:
        out[PARAM_MODALITY] = list(filters.modalities)
    if filters.indications:
        out[PARAM_INDICATION] = list(filters.indications)
    return out
