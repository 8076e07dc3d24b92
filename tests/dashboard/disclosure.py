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



def _sum_equation(total, parts) -> dict:
    """total - sum(parts) = 0, as {cell: coefficient} (a part listed twice counts twice)."""
    eq = {total: 1}
    for p in parts:
        eq[p] = eq.get(p, 0) - 1
    return eq

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
    The equations: the chart's declared sums (total = parts, or parts + an unknown remainder for a group
    whose total holds rows left out, groups = a total published elsewhere when that total is not itself
    small, cells repeated across rows, rate = numerator / denominator), plus
    every within-row sum found in the raw data by search (so a sum the description forgot counts too)."""
    import pandas as pd

    problems: list[str] = []
    unknowns: list = []
    equations: list[dict] = []
    raw_value: dict = {}
    shown_value: dict = {}
    n_rest = 0
    sums: list = []
    internal = getattr(spec.suppression, "internal", frozenset())  # parts that decide, never exported
    for part, rule in spec.suppression.tables.items():
        shown, raw = shown_parts.get(part), raw_parts.get(part)
        if shown is None or raw is None or raw.empty or part in internal:
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
                    # rest: the total also holds rows not in the table (the clinics left out of a funnel plot)
                    eq((part, g[0], gs.total), parts, rest=getattr(gs, "rest", False))
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


# ------------------------------------------------------------------- a funnel plot's exports, compared


def funnel_leaks(exports: list, every, floor: int = 11) -> list[str]:
    """Counts from 1 to floor-1 that a reader can work out from one or several exports of a funnel plot of
    the same period and filters (different clinics selected): the clinics' rows as exported (`exports`:
    DataFrames of clinic_id, events, n, rate, network_events, network_n, network_rate). `every`: every
    clinic of the network, unsuppressed (the truth the reader attacks). What the reader uses: each clinic's
    events and n and the network totals wherever any export shows them (a rate shown with its n gives the
    count), the network totals add up every clinic of the network (the selected ones and those left out),
    n = events + the cases without one, for each clinic and for the network."""
    import pandas as pd

    truth: dict = {}
    for row in every.itertuples(index=False):
        truth[(row.clinic_id, "events")] = float(row.events)
        truth[(row.clinic_id, "n")] = float(row.n)
        truth[("comp", row.clinic_id)] = float(row.n) - float(row.events)
    first = every.iloc[0]
    truth[("network", "events")] = float(first["network_events"])
    truth[("network", "n")] = float(first["network_n"])
    truth[("comp", "network")] = float(first["network_n"]) - float(first["network_events"])
    known: set = set()
    problems: list[str] = []
    for shown in exports:
        for row in shown.to_dict("records"):
            c = row["clinic_id"]
            cells = {(c, "events"): row["events"], (c, "n"): row["n"], ("network", "events"): row["network_events"],
                     ("network", "n"): row["network_n"]}
            for cell, value in cells.items():
                if pd.isna(value):
                    continue
                known.add(cell)
                if float(value) != truth[cell]:
                    problems.append(f"{cell} shown as {value}, is {truth[cell]}")
                if 1 <= float(value) < floor:
                    problems.append(f"{cell} = {value} shown")
            for rate, counts in (("rate", (c, "events")), ("network_rate", ("network", "events"))):
                if not pd.isna(row.get(rate)) and counts not in known:
                    problems.append(f"{rate} of {c} shown with its count hidden")
                    known.add(counts)
    clinics = list(every["clinic_id"])
    sums = [(("network", "events"), [(c, "events") for c in clinics]),
            (("network", "n"), [(c, "n") for c in clinics])]
    sums += [((c, "n"), [(c, "events"), ("comp", c)]) for c in [*clinics, "network"]]
    unknowns = [cell for cell in truth if cell not in known]
    equations = [_sum_equation(total, parts) for total, parts in sums]
    for cell in determined(equations, unknowns):
        if 1 <= truth[cell] < floor:
            problems.append(f"hidden {cell} = {truth[cell]} can be worked out")
    for total, parts in sums:
        if total not in known:
            continue
        hidden = [p for p in parts if p not in known]
        gone = sum(truth[p] for p in hidden)
        if hidden and 1 <= gone < floor:
            problems.append(f"hidden {hidden} add up to {gone}")
    return problems


# ------------------------------------------------------------------- a Kaplan-Meier table, attacked

Z95 = 1.959963984540054


def _greenwood(s: float, low: float) -> float | None:
    """The Greenwood sum behind a survival and the lower end of its log-log interval (the SQL's formula
    turned around): None where it cannot be read (S = 1 or 0)."""
    import math

    if not (0 < s < 1) or not (0 < low < 1):
        return None
    return ((math.log(-math.log(s)) - math.log(-math.log(low))) * math.log(s) / Z95) ** 2


def km_leaks(shown, raw, floor: int = 11, time: str = "days") -> list[str]:
    """Counts from 1 to floor-1 that a reader can work out from an exported Kaplan-Meier table (`shown`, the
    CSV; `raw`, the query's rows; one row per day with at_risk, events, censored, survival, survival_ci_low).
    The reader knows every day listed (hidden rows keep their day), the number of courses (published
    elsewhere), and:
    - a shown at-risk count: the boosters and censorings of that day and every later one add up to it;
    - two consecutive days with a shown curve, j < k: survival and its Greenwood sum (read back from the
      interval) give, where no censoring falls between events, R = the courses at risk after day j and
      D = the boosters in (j, k] (ratio = (R - D) / R, Greenwood step = D / (R (R - D))): the audit's
      arithmetic (boosters on day 31 = 195 x (1 - S) - (195 - 184)), here with R read off the curve too;
    - for a day between two such days whose other counts are known, a search over every split of the
      boosters and censorings of the interval that gives the same survival and Greenwood step (the product
      does not telescope when courses are censored between events).
    Checked: every hidden count of a day, and every sum of them over the days between shown days (before,
    after and between two shown days), that is fixed and from 1 to floor-1."""
    import math

    import pandas as pd

    raw = raw.sort_values(time).reset_index(drop=True)
    shown = shown.set_index(time).loc[raw[time]].reset_index()
    n = len(raw)
    d = raw["events"].astype(float).tolist()
    c = raw["censored"].astype(float).tolist()
    problems: list[str] = []
    unknowns: list = []
    truth: dict = {}
    for i in range(n):
        for kind, values, column in (("d", d, "events"), ("c", c, "censored")):
            truth[(kind, i)] = values[i]
            value = shown[column].iloc[i]
            if pd.isna(value):
                unknowns.append((kind, i))
            else:
                if float(value) != values[i]:
                    problems.append(f"{column} of day {raw[time].iloc[i]} changed")
                if 1 <= float(value) < floor:
                    problems.append(f"{column} = {value} shown on day {raw[time].iloc[i]}")
    if n == 0:
        return problems
    equations: list[dict] = []

    def tail(k: int) -> dict:
        eq: dict = {}
        for i in range(k, n):
            eq[("d", i)] = eq.get(("d", i), 0) + 1
            eq[("c", i)] = eq.get(("c", i), 0) + 1
        return eq

    equations.append(tail(0))  # the number of courses
    for k in range(n):
        at_risk = shown["at_risk"].iloc[k]
        if not pd.isna(at_risk):
            if 1 <= float(at_risk) < floor:
                problems.append(f"at risk {at_risk} shown on day {raw[time].iloc[k]}")
            equations.append(tail(k))
    curve = [k for k in range(n) if not pd.isna(shown["survival"].iloc[k])]
    pairs = list(zip([-1, *curve], curve))  # -1: the start, S = 1
    for j, k in pairs:
        s_j = 1.0 if j < 0 else float(shown["survival"].iloc[j])
        s_k = float(shown["survival"].iloc[k])
        g_j = 0.0 if j < 0 or s_j >= 1 else _greenwood(s_j, float(shown["survival_ci_low"].iloc[j]))
        g_k = 0.0 if s_k >= 1 else _greenwood(s_k, float(shown["survival_ci_low"].iloc[k]))
        interval = range(j + 1, k + 1)
        true_d = sum(d[i] for i in interval)
        true_r = sum(d[i] + c[i] for i in range(j + 1, n))
        rho = s_k / s_j if s_j > 0 else None
        if rho is not None and abs(rho - 1) < 1e-12:
            equations.append({("d", i): 1 for i in interval})  # no booster in (j, k]
        elif rho is not None and g_j is not None and g_k is not None and g_k > g_j:
            r_read = (1 - rho) / ((g_k - g_j) * rho)
            d_read = r_read * (1 - rho)
            if abs(r_read - round(r_read)) < 1e-3 and abs(d_read - round(d_read)) < 1e-3 \
                    and round(r_read) == true_r and round(d_read) == true_d:
                equations.append(tail(j + 1))
                equations.append({("d", i): 1 for i in interval})
        # the search: the interval's unknowns, every split of its true totals, matched on S and Greenwood
        hidden = [u for u in unknowns if u[1] in interval]
        if rho is not None and 0 < len(hidden) and g_j is not None and g_k is not None:
            problems += _split_search(hidden, d, c, j, k, n, rho, g_k - g_j, floor)
    # every hidden count and every sum of them over the spans between days shown
    marks = sorted({-1, *curve, *[k for k in range(n) if not pd.isna(shown["at_risk"].iloc[k])]})
    spans = []
    for a, b in zip(marks, marks[1:]):
        for lo, hi in ((a + 1, b + 1), (max(a, 0), b), (a + 1, b)):
            if hi > lo:
                spans.append((lo, hi))
    sums = {}
    for lo, hi in set(spans):
        for kinds in (("d",), ("c",), ("d", "c")):
            cells = [(kind, i) for kind in kinds for i in range(lo, hi)]
            if any(cell in unknowns for cell in cells):
                sums[("span", kinds, lo, hi)] = cells
    for name, cells in sums.items():
        unknowns.append(name)
        truth[name] = sum(truth[cell] for cell in cells)
        equations.append(_sum_equation(name, cells))
    for u in determined(equations, unknowns):
        if 1 <= truth[u] < floor:
            what = f"{u[0]} of day {raw[time].iloc[u[1]]}" if u[0] in ("d", "c") else \
                f"{'+'.join(u[1])} over days {raw[time].iloc[u[2]]}..{raw[time].iloc[u[3] - 1]}"
            problems.append(f"hidden {what} = {truth[u]:g} can be worked out")
    return problems


def _split_search(hidden: list, d: list, c: list, j: int, k: int, n: int, rho: float, g: float,
                  floor: int) -> list[str]:
    """A strong reader's search over an interval (j, k] with at most two days hidden: it knows the courses at
    risk after day j, the boosters and the censorings of the hidden days together, and tries every split of
    them over those days (each day listed has at least one) that gives the survival ratio and Greenwood
    step shown. A hidden count that is the same in every split that fits, and from 1 to floor-1, is found."""
    import math

    interval = list(range(j + 1, k + 1))
    days_hidden = sorted({i for _, i in hidden})
    if len(days_hidden) > 2 or any(("d", i) not in hidden or ("c", i) not in hidden for i in days_hidden):
        return []
    total_d = sum(d[i] for i in days_hidden)
    total_c = sum(c[i] for i in days_hidden)
    start = sum(d[i] + c[i] for i in range(j + 1, n))

    def fit(split: dict) -> bool:
        at_risk, ratio, green = start, 1.0, 0.0
        for i in interval:
            di, ci = split.get(i, (d[i], c[i]))
            if di:
                if at_risk <= di:
                    return False
                ratio *= 1 - di / at_risk
                green += di / (at_risk * (at_risk - di))
            at_risk -= di + ci
        return abs(ratio - rho) < 1e-9 and abs(green - g) < 1e-9 * max(1.0, g)

    fits = []
    if len(days_hidden) == 1:
        fits = [{days_hidden[0]: (total_d, total_c)}]
    else:
        a, b = days_hidden
        for da in range(int(total_d) + 1):
            for ca in range(int(total_c) + 1):
                db, cb = total_d - da, total_c - ca
                if da + ca >= 1 and db + cb >= 1:
                    split = {a: (da, ca), b: (db, cb)}
                    if fit(split):
                        fits.append(split)
    problems = []
    for i in days_hidden:
        for pos, kind in ((0, "d"), (1, "c")):
            values = {f[i][pos] for f in fits}
            if len(values) == 1 and 1 <= next(iter(values)) < floor:
                problems.append(f"hidden {kind} of row {i} = {next(iter(values)):g} found by search")
    return problems
