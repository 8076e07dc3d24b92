"""An attacker's view of exported numbers, written independently of dashboard.suppression.

- `determined(equations, unknowns)`: exact (Fraction) Gauss-Jordan elimination: which unknowns a reader
  can work out from linear equations between shown and hidden cells (a total minus its shown parts...).
- `numbers_in_text(text)`: every count a sentence states ("n=828", "476 of 828", "(12 sessions)").
- `rate_reveals_small(pct, digits, n, floor)`: whether a shown percentage of a shown n pins the count
  (or its complement) inside 1..floor-1.
"""

from __future__ import annotations

import re
from fractions import Fraction

Equation = dict  # unknown -> coefficient, plus the key 1 for the constant (not needed: only the shape matters)


def determined(equations: list[dict], unknowns: list) -> set:
    """Unknowns fixed by the equations (each a dict unknown -> coefficient; shown cells are constants
    and left out). Exact: reduced row echelon form over the rationals."""
    index = {u: k for k, u in enumerate(unknowns)}
    rows = []
    for eq in equations:
        row = [Fraction(0)] * len(unknowns)
        for u, c in eq.items():
            if u in index:
                row[index[u]] += Fraction(c)
        if any(row):
            rows.append(row)
    pivots = []
    r = 0
    for col in range(len(unknowns)):
        pivot = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        lead = rows[r][col]
        rows[r] = [v / lead for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append((r, col))
        r += 1
        if r == len(rows):
            break
    out = set()
    for row_index, col in pivots:
        if all(v == 0 for k, v in enumerate(rows[row_index]) if k != col):
            out.add(unknowns[col])
    return out


_NUM = r"\d{1,3}(?:,\d{3})+|\d+"
_COUNT_WORDS = (r"courses?|sessions?|patients?|boosters?|intervals?|readings?|rows?|row-reasons|"
                r"course-instrument pairs|evaluable|treated|no-shows?|cancellations?|flagged|"
                r"first boosters|esketamine|people|clinic-weeks")
_PATTERNS = [
    re.compile(rf"\bn\s*=\s*({_NUM})\b"),
    re.compile(rf"\b({_NUM})\s+of\s+({_NUM})\b"),
    re.compile(rf"\b({_NUM})\s+(?:{_COUNT_WORDS})\b"),
    re.compile(rf"%\s*\(({_NUM})\)"),
]


def numbers_in_text(text: str) -> list[int]:
    """Counts stated in text (not years, percentages, scores or axis ticks)."""
    out = []
    for pattern in _PATTERNS:
        for match in pattern.finditer(text):
            for group in match.groups():
                if group:
                    out.append(int(group.replace(",", "")))
    return out


_RATE_N = re.compile(rf"(\d+(?:\.(\d))?)%\s*\((?:[^()]*?)n\s*=\s*({_NUM})\)")
_RATE_OF = re.compile(rf"(\d+(?:\.(\d))?)%\s*\(({_NUM})\s+of\s+({_NUM})")


def rate_reveals_small(pct: float, digits: int, n: int, floor: int) -> bool:
    """True when every count k with round(100 k / n, digits) == pct lies in 1..floor-1 (or every such
    n - k does): the percentage gives a small count away."""
    if n <= 0:
        return False
    ks = [k for k in range(n + 1) if round(100 * k / n, digits) == round(pct, digits)
          or abs(100 * k / n - pct) <= 0.5 * 10 ** -digits + 1e-9]
    if not ks:
        return False
    small = all(1 <= k < floor for k in ks)
    small_complement = all(1 <= n - k < floor for k in ks)
    return small or small_complement


def rates_in_text(text: str) -> list[tuple[float, int, int]]:
    """(percent, decimals, n) for "57% (54–61%, n=828)" and "47% (79 of 167)"."""
    out = []
    for m in _RATE_N.finditer(text):
        out.append((float(m.group(1)), 1 if m.group(2) else 0, int(m.group(3).replace(",", ""))))
    for m in _RATE_OF.finditer(text):
        out.append((float(m.group(1)), 1 if m.group(2) else 0, int(m.group(4).replace(",", ""))))
    return out


def leaks_in_text(text: str, floor: int = 11) -> list[str]:
    """Everything in a text that states or pins a count from 1 to floor-1."""
    problems = [f"count {k}" for k in numbers_in_text(text) if 1 <= k < floor]
    problems += [f"{p}% of n={n}" for p, d, n in rates_in_text(text) if rate_reveals_small(p, d, n, floor)]
    return problems
