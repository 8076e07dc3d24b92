"""Number formatting for screens and exports: one style everywhere.

    pct_ci(0.58, 0.54, 0.62, 412) -> "58% (54–62%, n=412)"
"""

from __future__ import annotations

import datetime as dt
import math

DASH = "–"  # en dash for ranges
MISSING = "—"  # em dash for "no figure"


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def count(value: object) -> str:
    if _missing(value):
        return MISSING
    return f"{int(round(float(value))):,}"  # type: ignore[arg-type]


def pct(value: object, digits: int = 0) -> str:
    if _missing(value):
        return MISSING
    return f"{float(value) * 100:.{digits}f}%"  # type: ignore[arg-type]


def _digits_for(*values: object) -> int:
    """Whole percent, unless the figures are small enough that whole percent hides them."""
    finite = [float(v) for v in values if not _missing(v)]  # type: ignore[arg-type]
    return 1 if finite and max(abs(v) for v in finite) < 0.1 else 0


def share(value: object) -> str:
    """A share to whole percent, or to a tenth under 10% ("0.4%", not "0%" beside a figure that is not nothing)."""
    return pct(value, 0 if not _missing(value) and float(value) == 0 else _digits_for(value))  # type: ignore[arg-type]


def pct_ci(rate: object, low: object, high: object, n: object, digits: int | None = None) -> str:
    """"58% (54–62%, n=412)"; "no evaluable courses (n=0)" when there is no rate."""
    if _missing(rate):
        return f"{MISSING} (n={count(n) if not _missing(n) else 0})"
    d = _digits_for(rate, high) if digits is None else digits
    if _missing(low) or _missing(high):
        return f"{pct(rate, d)} (n={count(n)})"
    return f"{pct(rate, d)} ({float(low) * 100:.{d}f}{DASH}{pct(high, d)}, n={count(n)})"  # type: ignore[arg-type]


def pct_interval(rate: object, low: object, high: object) -> str:
    """"41% (39–44%)": a rate and its interval when n is said elsewhere."""
    text = pct_ci(rate, low, high, 0)
    return text.split(", n=")[0] + ")" if ", n=" in text else text.replace(" (n=0)", "")


def number(value: object, digits: int = 1) -> str:
    if _missing(value):
        return MISSING
    return f"{float(value):,.{digits}f}"  # type: ignore[arg-type]


def with_interval(value: object, low: object, high: object, digits: int = 1) -> str:
    """'2.10 (95% CI 1.90–2.32)'; the value alone when its interval is unknown."""
    if _missing(low) or _missing(high):
        return number(value, digits)
    return f"{number(value, digits)} (95% CI {number(low, digits)}{DASH}{number(high, digits)})"


def days(value: object) -> str:
    if _missing(value):
        return MISSING
    v = float(value)  # type: ignore[arg-type]
    return f"{v:.0f} days" if v.is_integer() else f"{v:.1f} days"


def date(value: dt.date | None) -> str:
    if value is None:
        return MISSING
    return f"{value.day} {value:%b %Y}"


def period(start: dt.date | None, end: dt.date | None) -> str:
    """"1 Apr – 30 Jun 2026", "15 Dec 2025 – 14 Jan 2026"; open ends read as "start of data" / "end of data"."""
    if start is None and end is None:
        return "all data"
    if start is None:
        return f"up to {date(end)}"
    if end is None:
        return f"from {date(start)}"
    if start == end:
        return date(start)
    if start.year == end.year:
        if start.month == end.month and start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
            return f"{start:%B %Y}"
        return f"{start.day} {start:%b} {DASH} {date(end)}"
    return f"{date(start)} {DASH} {date(end)}"


def signed(value: object, digits: int = 0, suffix: str = "") -> str:
    if _missing(value):
        return MISSING
    v = float(value)  # type: ignore[arg-type]
    return f"{v:+,.{digits}f}{suffix}".replace("-", "−")


def signed_points(delta: object) -> str:
    """A difference of two rates in percentage points: "+3.1 pts"."""
    if _missing(delta):
        return MISSING
    return signed(float(delta) * 100, 1, " pts")  # type: ignore[arg-type]
