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
                r"first boosters|esketamine|people")
_NOT_PEOPLE = r"\s*(?:clinic-weeks|open days|available chair-hours|chair-hours|patient-years|clinics?\b)"
_PATTERNS = [
    re.compile(rf"\bn\s*=\s*({_NUM})\b(?!{_NOT_PEOPLE})"),
    re.compile(rf"(?<!page )\b({_NUM})\s+of\s+({_NUM})\b(?!{_NOT_PEOPLE})"),
    re.compile(rf"(?<![-\w.])({_NUM})\s+(?:{_COUNT_WORDS})\b"),
    re.compile(rf"%\s*\(({_NUM})\)"),
]
# numbers of the definitions themselves (protocol lengths, rules), not counts of anyone
_STATIC = re.compile(r"\(\d+ ketamine / \d+ esketamine|\d+-\d+ ketamine / \d+-\d+ esketamine|fewer than \d+ courses|"
                     r"\d+ sessions for ketamine|\d+ for esketamine|session \d+ starts|after session \d+ starts|"
                     r"within \d+ h|\d+ days|\d+ min\b")


def numbers_in_text(text: str) -> list[int]:
    """Counts stated in text (not years, percentages, scores, axis ticks or the definitions' rules)."""
    text = _STATIC.sub(" ", " ".join(str(text).split()))
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


# --------------------------------------------------------------------------- a chart's CSV, attacked


def _components(equations: list[dict], unknowns: list) -> list[tuple[list[dict], list]]:
    parent = {u: u for u in unknowns}

    def find(u):
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    for eq in equations:
        keys = [u for u in eq if u in parent]
        for k in keys[1:]:
            parent[find(keys[0])] = find(k)
    groups: dict = {}
    for u in unknowns:
        groups.setdefault(find(u), ([], []))[1].append(u)
    for eq in equations:
        keys = [u for u in eq if u in parent]
        if keys:
            groups[find(keys[0])][0].append(eq)
    return list(groups.values())


def _identities(df, counts: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Within-row sums that hold on every row of the raw data: total = a (+ b), found by search."""
    import itertools

    import pandas as pd

    found = []
    cols = [c for c in counts if c in df]
    values = {c: pd.to_numeric(df[c], errors="coerce") for c in cols}
    for total in cols:
        others = [c for c in cols if c != total]
        for size in (1, 2):
            for parts in itertools.combinations(others, size):
                s = sum(values[p] for p in parts)
                ok = (values[total] == s) | values[total].isna() | s.isna()
                if ok.all() and int((s.fillna(0) > 0).sum()) >= 3:  # a real identity, not a coincidence
                    found.append((total, parts))
    return found


def csv_leaks(shown_parts: dict, raw_parts: dict, spec, floor: int = 11) -> list[str]:
    """Counts from 1 to floor-1 that can be read, or worked out, from a chart's exported table.

    shown_parts / raw_parts: part name -> DataFrame (what the CSV holds / what the query returned).
    The equations: the chart's declared sums (total = parts, groups = a total published elsewhere when
    that total is not itself small, cells repeated across rows, rate = numerator / denominator), plus
    every within-row sum found in the raw data by search (so a sum the description forgot counts too)."""
    import pandas as pd

    problems: list[str] = []
    unknowns: list = []
    equations: list[dict] = []
    raw_value: dict = {}
    shown_value: dict = {}
    n_rest = 0
    sums: list = []
    for part, rule in spec.suppression.tables.items():
        shown, raw = shown_parts.get(part), raw_parts.get(part)
        if shown is None or raw is None or raw.empty:
            continue
        counts = [c for c in rule.counts if c in raw]
        for c in counts:
            for i in range(len(raw)):
                cell = (part, i, c)
                r = raw[c].iloc[i]
                s = shown[c].iloc[i] if c in shown else float("nan")
                raw_value[cell] = None if pd.isna(r) else float(r)
                if pd.isna(s):
                    if not pd.isna(r):
                        unknowns.append(cell)
                else:
                    shown_value[cell] = float(s)
                    if 1 <= float(s) < floor:
                        problems.append(f"{spec.id}: {part}.{c}[{i}] = {s} shown")
                    if not pd.isna(r) and float(s) != float(r):
                        problems.append(f"{spec.id}: {part}.{c}[{i}] changed from {r} to {s}")

        def eq(total, parts, known_total=True, rest=False):
            nonlocal n_rest
            e: dict = {}
            if total is not None:
                e[total] = e.get(total, 0) + 1
            for p in parts:
                e[p] = e.get(p, 0) - 1
            if rest:
                n_rest += 1
                r = ("rest", n_rest)
                unknowns.append(r)
                e[r] = -1
                tv = raw_value.get(total)
                pv = [raw_value.get(p) for p in parts]
                if tv is not None and all(v is not None for v in pv):
                    raw_value[r] = tv - sum(pv)
            equations.append(e)
            sums.append((total, [k for k in e if k != total]))

        rows = range(len(raw))
        relations = [(rs.total, rs.parts, rs.rest) for rs in rule.row_sums]
        relations += [(t, p, False) for t, p in _identities(raw, counts)]
        for total, parts, rest in relations:
            for i in rows:
                eq((part, i, total), [(part, i, p) for p in parts], rest=rest)
        for rate in rule.rates:
            for i in rows:
                eq((part, i, rate.denominator), [(part, i, rate.numerator)], rest=True)
                if rate.columns[0] in shown and not pd.isna(shown[rate.columns[0]].iloc[i]):
                    for c in (rate.numerator, rate.denominator):
                        if pd.isna(shown[c].iloc[i]) and not pd.isna(raw[c].iloc[i]):
                            problems.append(f"{spec.id}: {part}.{rate.columns[0]}[{i}] shown with {c} hidden")
        for same in rule.same:
            groups = raw.groupby(list(same.by), dropna=False).indices.values() if same.by else [range(len(raw))]
            for g in groups:
                g = list(g)
                for i in g[1:]:
                    eq((part, g[0], same.column), [(part, i, same.column)])
        for chain in rule.chains:
            groups = raw.groupby(list(chain.by), dropna=False).indices.values() if chain.by else [range(len(raw))]
            for g in groups:
                g = sorted(g, key=lambda i: raw[chain.order].iloc[i])
                for a, b in zip(g, g[1:]):
                    eq((part, a, chain.column), [(part, b, chain.column)], rest=True)
        for gs in rule.group_sums:
            sel = raw
            for column, values in gs.exclude:
                sel = sel[~sel[column].isin(list(values))]
            for column, values in gs.only:
                sel = sel[sel[column].isin(list(values))]
            positions = [raw.index.get_loc(i) for i in sel.index]
            if gs.by:
                keys = raw.iloc[positions][list(gs.by)].astype(str).agg("|".join, axis=1).tolist()
                groups: dict = {}
                for pos, key in zip(positions, keys):
                    groups.setdefault(key, []).append(pos)
                group_rows = list(groups.values())
            else:
                group_rows = [positions] if positions else []
            for g in group_rows:
                parts = [(part, i, gs.column) for i in g]
                if gs.total is not None:
                    eq((part, g[0], gs.total), parts)
                elif gs.total_ref is not None:
                    continue  # a row of another part: covered by that part's own cells below
                else:
                    total = sum(raw_value.get(p) or 0 for p in parts)
                    if not (1 <= total < floor):  # published elsewhere, and shown there
                        eq(None, parts)
    for u in list(unknowns):
        if u not in raw_value:
            raw_value[u] = None
    for eqs, group in _components(equations, unknowns):
        fixed = determined(eqs, group)
        for u in fixed:
            v = raw_value.get(u)
            if v is not None and 1 <= v < floor:
                problems.append(f"{spec.id}: hidden {u} = {v} can be worked out")
    # a known total (shown, or published elsewhere) minus its shown parts: the hidden parts together
    hidden_cells = set(unknowns)
    for total, parts in sums:
        if total is not None and total in hidden_cells:
            continue
        hidden = [u for u in parts if u in hidden_cells]
        values = [raw_value.get(u) for u in hidden]
        if hidden and all(v is not None for v in values) and 1 <= sum(values) < floor:
            problems.append(f"{spec.id}: hidden cells {hidden} add up to {sum(values)}")
    return problems
