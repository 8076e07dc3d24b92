"""Small-cell suppression, CMS-style: counts from 1 to 10 are not shown, nor any figure that would reveal one.

Pure functions over a chart's data (a DataFrame, or a dict of named DataFrames) and a per-chart
description (`Suppression`) of what its columns are:

- `counts`: columns that count people or events (courses, sessions, boosters, readings...). A count
  from 1 to `threshold - 1` is hidden (primary suppression). Zero stays shown.
- `Rate(columns, numerator, denominator)`: a rate (and its interval) computed from two counts of the
  same row. Hidden when either count is hidden, and when the complement (denominator - numerator) is
  from 1 to threshold - 1: then the numerator is hidden too (the complement count would be worked out
  by subtraction otherwise).
- `Derived(columns, basis)`: figures computed from counts of the same row (means, medians, limits,
  shares...): hidden when any basis count is hidden.
- `RowSum(total, parts, rest)`: within a row, total = sum(parts) (+ an unshown remainder if `rest`).
- `GroupSum(column, by, total | total_ref, rest)`: the rows of a group (same values in `by`) add up to a
  total: a column of the same rows, a row of another part of the chart's data (`TotalRef`), or, with
  neither, a total published elsewhere (another chart, a headline), which counts as known. `rest`: the
  total also holds rows not in the table (a funnel plot's clinics left out), an unshown remainder count.
- `Same(column, by)`: cells that are one quantity repeated on several rows.
- `Steps(...)`: a Kaplan-Meier table; a day's curve is shown only when what it and the previous day shown
  give away (boosters, censored courses, courses at risk, by difference) is 0 or at least the threshold,
  and its at-risk and counts only when its own boosters and censorings are (`_steps`).
- `Cap(column, ref_part, ref_column)`: rows beyond the largest shown value of another part are masked
  (a funnel plot's limits must not reveal the largest clinic's hidden n).
- `Needs(part, column)`: a part computed from a figure of another part goes whole when that is hidden.
- `RowsOf(part, on, columns, when)`: a part whose rows are rows of another part holding every row the
  totals pool; that part is solved first and never output, and this one hides at least what it hides.
  `columns` pairs figures that are one quantity under two names, `when` picks the rows that are such rows:
  a chart that repeats another chart's figure carries that chart's table and hides what it hides (the
  score trajectory's n at the baseline is the outcome table's courses with a baseline).

Complementary suppression: every sum relation above is a linear equation. When a total is known and
exactly one protected cell of it is hidden (or the hidden cells of it add up to 1..threshold-1), the
smallest other shown cell of the same relation (nonzero first) is hidden too, until no relation gives
one away; then an exact audit (the null space of the equations over the hidden cells) checks that no
protected cell is determined by any combination of relations, and hides more where one is. A count that
is also derived from others of its row (intention-to-treat courses) is hidden during the solve as soon as
one of those is, so it is never taken for a known total.

Masking, never recomputation: shown values are the query's values, unchanged; hidden ones become NaN.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ENV_MIN_CELL = "CLINIC_ANALYTICS_MIN_CELL"
DEFAULT_MIN_CELL = 11
EXTERNAL = "external"  # a total published elsewhere: known to the reader


class SuppressionConfigError(ValueError):
    """CLINIC_ANALYTICS_MIN_CELL holds something other than a whole number >= 1."""


def min_cell() -> int:
    """The smallest count shown (env CLINIC_ANALYTICS_MIN_CELL, default 11: counts 1..10 hidden).
    1 turns suppression off; 0 is always shown. A bad value raises (never silently less private)."""
    raw = os.environ.get(ENV_MIN_CELL, "").strip()
    if not raw:
        return DEFAULT_MIN_CELL
    try:
        value = int(raw)
    except ValueError:
        raise SuppressionConfigError(f"{ENV_MIN_CELL}={raw!r} is not a whole number (e.g. 11)") from None
    if value < 1:
        raise SuppressionConfigError(f"{ENV_MIN_CELL}={raw!r} must be at least 1 (1 shows every count)")
    return value


def note(threshold: int) -> str:
    """The footnote that says so."""
    if threshold <= 1:
        return ""
    if threshold == 2:
        return "Counts of 1 and figures that would reveal them are not shown (CMS cell-size rule)."
    return (f"Counts from 1 to {threshold - 1} and figures that would reveal them are not shown "
            "(CMS cell-size rule).")


# ------------------------------------------------------------------------------------ description


@dataclass(frozen=True)
class Rate:
    columns: tuple[str, ...]
    numerator: str
    denominator: str


@dataclass(frozen=True)
class Derived:
    columns: tuple[str, ...]
    basis: tuple[str, ...]


@dataclass(frozen=True)
class RowSum:
    total: str
    parts: tuple[str, ...]
    rest: bool = False  # total = sum(parts) + an unshown remainder (itself a count)


@dataclass(frozen=True)
class TotalRef:
    part: str
    column: str
    on: tuple[str, ...] = ()  # key columns matched between the group and the total's row


@dataclass(frozen=True)
class GroupSum:
    column: str
    by: tuple[str, ...] = ()
    total: str | None = None  # a column of the same rows holding the group's total
    total_ref: TotalRef | None = None  # or a row of another part; neither: published elsewhere
    exclude: tuple[tuple[str, tuple], ...] = ()  # rows left out of the relation: (column, values)
    only: tuple[tuple[str, tuple], ...] = ()  # or the only rows in it: (column, values)
    # the total also holds rows not in the table (a funnel plot's network pools the clinics left out of the
    # selection): total = rows + an unshown remainder, itself a count (protected when from 1 to threshold - 1)
    rest: bool = False


@dataclass(frozen=True)
class Same:
    column: str
    by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chain:
    """Rows of a group, in `order`, each at most the one before: the differences are counts too
    (e.g. courses reaching session k and k+1 of induction: the difference stopped at session k)."""

    column: str
    by: tuple[str, ...] = ()
    order: str = ""


@dataclass(frozen=True)
class Steps:
    """A survival table: one row per time with at-risk, events and censored counts."""

    time: str
    at_risk: str
    events: str
    censored: str
    columns: tuple[str, ...]  # the row's other figures, masked with it


@dataclass(frozen=True)
class Cap:
    column: str
    ref_part: str
    ref_column: str


@dataclass(frozen=True)
class RowsOf:
    """A part whose rows are rows of another part of the data (matched on `on`), which holds every row the
    figures pool: a funnel plot's selected clinics, of all the clinics its network totals add up. The other
    part is solved first, on its own, and never shown; this part hides at least what it hides, so every
    selection shows a subset of one safe table (selections compared with each other give nothing away)."""

    part: str
    on: tuple[str, ...]
    # (this part's column, the other part's column) when the same figure has two names (a trajectory's n at
    # the baseline is the rates table's courses with a baseline); empty: the columns both parts name alike
    columns: tuple[tuple[str, str], ...] = ()
    # only this part's rows with these values are rows of the other (the trajectory's baseline, session 0)
    when: tuple[tuple[str, object], ...] = ()

    def pairs(self, df: pd.DataFrame) -> tuple[tuple[str, str], ...]:
        return self.columns or tuple((c, c) for c in df.columns)

    def applies(self, df: pd.DataFrame, i: int) -> bool:
        return all(c in df and df[c].iloc[i] == v for c, v in self.when)


@dataclass(frozen=True)
class Needs:
    """Every figure of this part is computed from a figure of another part (a funnel plot's limits, from
    the network rate): all of this part goes when that figure is hidden."""

    part: str
    column: str


@dataclass(frozen=True)
class TableRule:
    counts: tuple[str, ...] = ()
    rates: tuple[Rate, ...] = ()
    derived: tuple[Derived, ...] = ()
    row_sums: tuple[RowSum, ...] = ()
    group_sums: tuple[GroupSum, ...] = ()
    same: tuple[Same, ...] = ()
    chains: tuple[Chain, ...] = ()
    steps: Steps | None = None
    cap: Cap | None = None
    rows_of: RowsOf | None = None
    needs: tuple[Needs, ...] = ()
    # counts to keep shown when a complementary cell must go and another will do: the figures the chart is
    # for (item 9's "emerged", new self-harm thoughts, went to protect a derived 9 beside a shown 197)
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suppression:
    """What a chart's data holds, per part ("" for a chart whose data is one DataFrame)."""

    tables: dict[str, TableRule] = field(default_factory=dict)

    @classmethod
    def table(cls, **kwargs) -> Suppression:
        return cls({"": TableRule(**kwargs)})

    @classmethod
    def parts(cls, **rules: TableRule) -> Suppression:
        return cls(dict(rules))

    def count_columns(self, part: str = "") -> tuple[str, ...]:
        rule = self.tables.get(part)
        return rule.counts if rule else ()

    @property
    def internal(self) -> frozenset[str]:
        """Parts only there to decide what may be shown (the rows other parts are rows of): never output."""
        return frozenset(rule.rows_of.part for rule in self.tables.values() if rule.rows_of is not None)


NONE = Suppression()  # a chart with no count of people (e.g. utilization by hour)


@dataclass(frozen=True)
class Result:
    data: pd.DataFrame | dict[str, pd.DataFrame]
    threshold: int
    hidden: int  # values masked (counts and the figures computed from them)
    primary: int  # counts from 1 to threshold - 1
    # the data before masking: only to tell "nothing to show" from "everything hidden" (never drawn)
    source: pd.DataFrame | dict[str, pd.DataFrame] | None = field(default=None, repr=False, compare=False)

    @property
    def note(self) -> str:
        return note(self.threshold) if self.hidden else ""


# ------------------------------------------------------------------------------------ the algorithm

Cell = tuple  # (part, row position, column) or ("~", n) for an unshown remainder


def _value(v: object) -> float | None:
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _frames(data) -> dict[str, pd.DataFrame]:
    if isinstance(data, pd.DataFrame):
        return {"": data}
    return dict(data)


def _groups(df: pd.DataFrame, by: tuple[str, ...], exclude: tuple = (), only: tuple = ()) -> list[list[int]]:
    keep = np.ones(len(df), dtype=bool)
    for column, values in exclude:
        if column in df:
            keep &= ~df[column].isin(list(values)).to_numpy()
    for column, values in only:
        keep &= df[column].isin(list(values)).to_numpy() if column in df else False
    positions = np.flatnonzero(keep)
    if not by:
        return [list(positions)] if len(positions) else []
    if any(c not in df for c in by):
        return []
    keys = df.iloc[positions][list(by)].astype(str).agg("\x1f".join, axis=1) if len(positions) else []
    out: dict[str, list[int]] = {}
    for pos, key in zip(positions, keys, strict=True):
        out.setdefault(key, []).append(int(pos))
    return list(out.values())


def _svd(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The full SVD of a relation matrix (entries -1, 0, 1). NumPy's driver (LAPACK gesdd) can fail to converge
    on such a matrix: the sample's May 2026 "by group" outcomes gave one of 303 x 429 that it refused with one
    BLAS thread and took with two. The slower gesvd driver, by QR iteration, converges where it does not."""
    try:
        return np.linalg.svd(a)
    except np.linalg.LinAlgError:
        import scipy.linalg

        return scipy.linalg.svd(a, lapack_driver="gesvd")


class _Problem:
    """The cells, their values, the relations (total, parts) and what is hidden."""

    def __init__(self, frames: dict[str, pd.DataFrame], spec: Suppression, threshold: int):
        self.frames = frames
        self.th = threshold
        self.keep = {(part, column) for part, rule in spec.tables.items() for column in rule.keep}
        self.values: dict[Cell, float | None] = {}
        self.relations: list[tuple[Cell | str, list[Cell]]] = []
        # counts that are also figures derived from other counts of their row (intention-to-treat courses =
        # evaluable + missed follow-ups): hidden, during the solve, as soon as one of those is
        self.links: list[tuple[Cell, list[Cell]]] = []
        self.virtual = 0
        for part, rule in spec.tables.items():
            df = frames.get(part)
            if df is None or df.empty:
                continue
            for column in rule.counts:
                if column in df:
                    for i, v in enumerate(df[column].tolist()):
                        self.values[(part, i, column)] = _value(v)
        for part, rule in spec.tables.items():
            df = frames.get(part)
            if df is None or df.empty:
                continue
            self._relations(part, df, rule)

    def _cell(self, part: str, i: int, column: str) -> Cell | None:
        cell = (part, i, column)
        return cell if cell in self.values else None

    def _remainder(self, value: float | None) -> Cell:
        self.virtual += 1
        cell = ("~", self.virtual)
        self.values[cell] = value
        return cell

    def _relations(self, part: str, df: pd.DataFrame, rule: TableRule) -> None:
        n = len(df)
        for derived in rule.derived:
            for column in derived.columns:
                for i in range(n):
                    cell = self._cell(part, i, column)
                    basis = [c for c in (self._cell(part, i, b) for b in derived.basis) if c is not None]
                    if cell is not None and basis:
                        self.links.append((cell, basis))
        for rs in rule.row_sums:
            for i in range(n):
                total = self._cell(part, i, rs.total)
                parts = [c for c in (self._cell(part, i, p) for p in rs.parts) if c is not None]
                if total is None or not parts:
                    continue
                if rs.rest:
                    t, s = self.values[total], [self.values[c] for c in parts]
                    rest = None if t is None or any(v is None for v in s) else t - sum(s)  # type: ignore[arg-type]
                    parts.append(self._remainder(rest))
                self.relations.append((total, parts))
        for rate in rule.rates:
            for i in range(n):
                num, den = self._cell(part, i, rate.numerator), self._cell(part, i, rate.denominator)
                if num is None or den is None:
                    continue
                a, b = self.values[num], self.values[den]
                rest = None if a is None or b is None else b - a
                self.relations.append((den, [num, self._remainder(rest)]))
        for same in rule.same:
            for rows in _groups(df, same.by):
                cells = [c for c in (self._cell(part, i, same.column) for i in rows) if c is not None]
                for other in cells[1:]:
                    self.relations.append((cells[0], [other]))
        for chain in rule.chains:
            for rows in _groups(df, chain.by):
                if chain.order and chain.order in df:
                    keys = pd.to_numeric(df[chain.order].iloc[rows], errors="coerce").to_numpy()
                    rows = [rows[k] for k in np.argsort(keys, kind="stable")]
                cells = [self._cell(part, i, chain.column) for i in rows]
                for a, b in zip(cells, cells[1:]):
                    if a is None or b is None:
                        continue
                    va, vb = self.values[a], self.values[b]
                    rest = None if va is None or vb is None else va - vb
                    self.relations.append((a, [b, self._remainder(rest)]))
        for gs in rule.group_sums:
            for rows in _groups(df, gs.by, gs.exclude, gs.only):
                parts = [c for c in (self._cell(part, i, gs.column) for i in rows) if c is not None]
                if not parts:
                    continue
                total: Cell | str | None = EXTERNAL
                values = [self.values.get(c) for c in parts]
                if gs.total is None and gs.total_ref is None and all(v is not None for v in values) \
                        and 1 <= sum(values) < self.th:  # type: ignore[arg-type]
                    continue  # a small total is not shown where it is published: it gives nothing away
                if gs.total is not None:
                    total = self._cell(part, rows[0], gs.total)
                elif gs.total_ref is not None:
                    total = self._ref(df.iloc[rows[0]], gs.total_ref)
                if total is None:
                    continue
                if gs.rest and total != EXTERNAL:
                    t = self.values.get(total)  # type: ignore[arg-type]
                    rest = None if t is None or any(v is None for v in values) else t - sum(values)  # type: ignore[arg-type]
                    if rest != 0:  # none left out (or nothing in them): the rows add up to the total exactly
                        parts = [*parts, self._remainder(rest)]
                self.relations.append((total, parts))

    def _ref(self, row: pd.Series, ref: TotalRef) -> Cell | None:
        other = self.frames.get(ref.part)
        if other is None or other.empty or ref.column not in other:
            return None
        match = np.ones(len(other), dtype=bool)
        for key in ref.on:
            if key not in other or key not in row:
                return None
            match &= (other[key].astype(str) == str(row[key])).to_numpy()
        hits = np.flatnonzero(match)
        return self._cell(ref.part, int(hits[0]), ref.column) if len(hits) == 1 else None

    # -------------------------------------------------------------------------------- solving

    def small(self, cell: Cell) -> bool:
        v = self.values.get(cell)
        return v is not None and 1 <= v < self.th

    def solve(self, preset: Iterable[Cell] = ()) -> set[Cell]:
        """The cells to hide; `preset`: cells hidden from the start (rows of a part solved before)."""
        hidden: set[Cell] = {c for c, v in self.values.items() if c[0] == "~" or v is None or self.small(c)}
        hidden |= {c for c in preset if c in self.values}
        self.primary = {c for c in self.values if c[0] != "~" and self.small(c)}

        followed = [-1]

        def follow() -> None:
            # a derived count goes with its basis before any relation is read: shown, it would be taken
            # for a known total, and a shown part of it hidden in its place (evaluable for itt_courses)
            if len(hidden) == followed[0]:  # nothing hidden since the last look
                return
            for cell, basis in self.links:
                if cell not in hidden and any(b in hidden and self.values.get(b) is not None for b in basis):
                    hidden.add(cell)
            followed[0] = len(hidden)

        def protected(c: Cell) -> bool:
            return c in hidden and (c[0] != "~" or self.small(c)) and self.values.get(c) is not None

        def hide_one(total: Cell | str, parts: list[Cell]) -> bool:
            shown = [p for p in parts if p not in hidden and p[0] != "~"]
            # the smallest nonzero cell; one the chart is for (TableRule.keep) only when nothing else will do:
            # before it, the relation's own total (the exact audit then checks nothing else gives it away)
            others = [p for p in shown if (p[0], p[2]) not in self.keep]
            if shown and not others and total != EXTERNAL and total not in hidden and total[0] != "~" \
                    and (total[0], total[2]) not in self.keep:  # type: ignore[index]
                hidden.add(total)  # type: ignore[arg-type]
                return True
            nonzero = [p for p in others if (self.values[p] or 0) > 0] or \
                [p for p in shown if (self.values[p] or 0) > 0]
            if shown and not nonzero and total != EXTERNAL and total not in hidden and total[0] != "~":  # type: ignore[index]
                hidden.add(total)  # type: ignore[arg-type]
                return True
            if shown:
                # a hidden 0 protects little (a column of zeros reads as an identity): a nonzero cell goes first,
                # even one the chart is for, then the relation's total, and a 0 only when nothing else will do
                pool = nonzero or others or shown
                pick = min(pool, key=lambda c: (not (self.values[c] or 0) > 0, self.values[c] or 0))
                hidden.add(pick)
                return True
            if total != EXTERNAL and total not in hidden:
                hidden.add(total)  # type: ignore[arg-type]
                return True
            return False

        for _ in range(10_000):
            changed = False
            for total, parts in self.relations:
                if self.links:
                    follow()
                hp = [p for p in parts if p in hidden]
                total_known = total == EXTERNAL or total not in hidden
                if total != EXTERNAL and total in hidden and protected(total) and not hp:  # type: ignore[arg-type]
                    changed |= hide_one(total, parts)
                    continue
                if not total_known or not hp or not any(protected(p) for p in hp):
                    continue
                if len(hp) == 1:
                    changed |= hide_one(total, parts)
                    continue
                values = [self.values.get(p) for p in hp]
                if all(v is not None for v in values) and 1 <= sum(values) < self.th:  # type: ignore[arg-type]
                    changed |= hide_one(total, parts)
            if not changed:
                changed = self._audit(hidden, protected, hide_one)
            if not changed:
                return hidden
        raise RuntimeError("suppression did not converge")  # pragma: no cover

    def _components(self, hidden: set[Cell]) -> list[tuple[list[Cell], list[int]]]:
        """Hidden cells split into groups linked by relations: (cells, relation indexes) per group."""
        parent: dict[Cell, Cell] = {c: c for c in hidden}

        def find(c: Cell) -> Cell:
            while parent[c] != c:
                parent[c] = parent[parent[c]]
                c = parent[c]
            return c

        touching: list[list[Cell]] = []
        for k, (total, parts) in enumerate(self.relations):
            if k in self._free:
                touching.append([])
                continue
            cells = [x for x in (total, *parts) if x != EXTERNAL and x in parent]
            touching.append(cells)
            for x in cells[1:]:
                a, b = find(cells[0]), find(x)
                if a != b:
                    parent[a] = b
        groups: dict[Cell, tuple[list[Cell], list[int]]] = {}
        for c in hidden:
            groups.setdefault(find(c), ([], []))[0].append(c)
        for k, cells in enumerate(touching):
            if cells:
                groups[find(cells[0])][1].append(k)
        return list(groups.values())

    @property
    def _free(self) -> set[int]:
        """Relations that pin nothing down: they hold an unshown remainder that is not small and
        appears in no other relation (e.g. the complement of a rate with a large complement)."""
        if getattr(self, "_free_cache", None) is None:
            seen: dict[Cell, int] = {}
            for total, parts in self.relations:
                for x in (total, *parts):
                    if x != EXTERNAL and x[0] == "~":
                        seen[x] = seen.get(x, 0) + 1
            self._free_cache = {k for k, (total, parts) in enumerate(self.relations)
                                if any(x[0] == "~" and seen[x] == 1 and not self.small(x) for x in parts)}
        return self._free_cache

    def _matrix(self, cells: list[Cell], relation_ids: list[int]) -> tuple[dict[Cell, int], list[int], np.ndarray]:
        """The relations of a group as equations over its hidden cells: (column of each cell, the relation
        behind each row, the coefficients); a relation with nothing hidden in it left out."""
        index = {c: k for k, c in enumerate(sorted(cells, key=str))}
        kept, rows = [], []
        for k in relation_ids:
            row = self._coefficients(k, index)
            if row.any():
                kept.append(k)
                rows.append(row)
        return index, kept, np.array(rows).reshape(len(rows), len(index))

    def _coefficients(self, k: int, index: dict[Cell, int]) -> np.ndarray:
        total, parts = self.relations[k]
        row = np.zeros(len(index))
        if total != EXTERNAL and total in index:
            row[index[total]] += 1
        for p in parts:
            if p in index:
                row[index[p]] -= 1
        return row

    def _determined_in(self, cells: list[Cell], relation_ids: list[int], hidden: set[Cell], protected) -> list[Cell]:
        index, _, a = self._matrix(cells, relation_ids)
        if not len(a):
            return []
        _, sv, vt = _svd(a)
        rank = int((sv > 1e-9).sum())
        null = vt[rank:]  # rows spanning the null space
        return [c for c in index if protected(c)
                and (null.shape[0] == 0 or np.abs(null[:, index[c]]).max() < 1e-9)]

    def _may_free(self, cells: list[Cell], relation_ids: list[int], c: Cell):
        """For a cell `c` its group's equations pin down: a test of whether hiding one more cell x can free it.

        The equations give c as y . A for every y in y0 + (left null space of A). Hiding x adds x's column a
        to the rows already there; c stays pinned if some such y has y . a = 0, which it has unless
        y0 . a != 0 and a is orthogonal to the left null space. Rows the hiding brings in (relations of x
        outside the group) only add equations, so a cell this test keeps pinned stays pinned: it is a
        filter in front of the exact check, one factorisation per stuck cell instead of one per candidate."""
        index, kept, a = self._matrix(cells, relation_ids)
        if not len(a):
            return lambda x: True
        u, sv, vt = _svd(a)
        rank = int((sv > 1e-9).sum())
        y0 = u[:, :rank] @ (vt[:rank, index[c]] / sv[:rank])  # the least-norm y with y . A = e_c
        left_null = u[:, rank:]
        where = {k: r for r, k in enumerate(kept)}

        def test(x: Cell) -> bool:
            column = np.zeros(len(kept))
            for k in self._touching.get(x, ()):
                if k in where:
                    column[where[k]] = self._coefficients(k, {x: 0})[0]
            if not column.any():
                return False
            return abs(float(y0 @ column)) > 1e-9 and \
                (left_null.shape[1] == 0 or float(np.abs(left_null.T @ column).max()) < 1e-6)
        return test

    @property
    def _touching(self) -> dict[Cell, list[int]]:
        """The relations each cell appears in."""
        if getattr(self, "_touching_cache", None) is None:
            out: dict[Cell, list[int]] = {}
            for k, (total, parts) in enumerate(self.relations):
                for x in {total, *parts}:
                    if x != EXTERNAL:
                        out.setdefault(x, []).append(k)
            self._touching_cache = out
        return self._touching_cache

    def _determined(self, hidden: set[Cell], protected) -> list[Cell]:
        """Protected hidden cells that the relations, taken together, pin down (exact in rank)."""
        out: list[Cell] = []
        for cells, relation_ids in self._components(hidden):
            if any(protected(c) for c in cells):
                out += self._determined_in(cells, relation_ids, hidden, protected)
        return out

    def _audit(self, hidden: set[Cell], protected, hide_one) -> bool:
        """Exact check: is any protected hidden cell determined by the relations taken together?
        If so hide more: for each such cell one shown cell of its own relations, or else the smallest
        shown cell whose hiding leaves it undetermined."""
        determined = self._determined(hidden, protected)
        if not determined:
            return False
        changed = False
        stuck = []
        for c in determined:
            if any((c == total or c in parts) and hide_one(total, parts) for total, parts in self.relations):
                changed = True
            else:
                stuck.append(c)
        if changed:
            return True
        for c in stuck:
            group, component = next((cells, ids) for cells, ids in self._components(hidden) if c in cells)
            shown = {x for k in component for x in [self.relations[k][0], *self.relations[k][1]]
                     if x != EXTERNAL and x not in hidden and x[0] != "~"}
            may_free = self._may_free(group, component, c)
            for candidate in sorted(shown, key=lambda x: (not (self.values[x] or 0) > 0, self.values[x] or 0, str(x))):
                if not may_free(candidate):
                    continue
                hidden.add(candidate)
                for cells, relation_ids in self._components(hidden):
                    if c in cells:
                        if c not in self._determined_in(cells, relation_ids, hidden, protected):
                            return True
                        break
                hidden.discard(candidate)
            if shown:  # no single cell frees it: hide them all (never happens on the catalog's tables)
                hidden.update(shown)
                return True
            # nothing shown in its equations: only totals published elsewhere pin it, and those are
            # protected where they are published
        return False


def _mask(df: pd.DataFrame, rows, columns: Iterable[str]) -> None:
    cols = [c for c in columns if c in df]
    if not cols or not len(rows):
        return
    for c in cols:
        if not (pd.api.types.is_float_dtype(df[c]) or df[c].dtype == object):
            if pd.api.types.is_bool_dtype(df[c]):
                df[c] = df[c].astype(object)
            else:
                df[c] = df[c].astype("float64")
    idx = df.index[list(rows)]
    for c in cols:
        df.loc[idx, c] = None if df[c].dtype == object else np.nan


def _steps(df: pd.DataFrame, st: Steps, th: int) -> tuple[list[int], list[int]]:
    """Rows of a survival table that may be shown (positions, in time order): (the days whose curve is shown,
    the days among them whose counts are shown too).

    What a reader gets from two consecutive days j < k shown: survival S_k / S_j = prod over the days in
    (j, k] of (1 - d_i / r_i), and the Greenwood sum behind the interval grows by sum d_i / (r_i (r_i - d_i)).
    With no course censored before an event inside (j, k], both telescope: S_k / S_j = (R - D) / R and the
    Greenwood step = 1 / (R - D) - 1 / R, R the courses at risk after day j and D the boosters in (j, k]: two
    equations that give R and D, and nothing of how D splits over the days. Censoring between events breaks
    that (the product then depends on the split, which a search could pin down), so such a day is not shown.
    Then the at-risk count of day k (the start of the day) with R gives the boosters and censorings before
    day k, and the curve gives them up to its end: day k's own counts by difference (an audit read 4 boosters
    on day 31 off at-risk 195 and 184 and S = 0.923). So a day's at-risk and counts are shown only when its
    own boosters and censorings are 0 or at least the threshold; else its curve is shown without them.
    A day is shown when, since the previous day shown (a start before the first day, at S = 1, counts
    as one), the boosters, the censored courses and both together are each 0 or at least the threshold over
    (j, k], [j, k) and (j, k), no censoring precedes an event inside (j, k], at least the threshold are at
    risk and the courses still followed after day k are 0 or at least the threshold."""
    if df.empty or th <= 1:
        every = list(range(len(df)))
        return every, every
    order = np.argsort(pd.to_numeric(df[st.time], errors="coerce").to_numpy(), kind="stable")
    d = pd.to_numeric(df[st.events], errors="coerce").fillna(0).to_numpy()[order]
    c = pd.to_numeric(df[st.censored], errors="coerce").fillna(0).to_numpy()[order]
    r = pd.to_numeric(df[st.at_risk], errors="coerce").fillna(0).to_numpy()[order]

    def ok(x: float) -> bool:
        return x == 0 or x >= th

    kept: list[int] = []
    counted: list[int] = []
    j = -1  # the start: nothing before the first day
    for k in range(len(order)):
        if r[k] < th:
            break
        if k == 0 and d[0] == 0 and not ok(c[0]):
            # the first day without a booster: its curve (1) and at-risk (every course, which a reader is taken
            # to know anyway) are shown, its few censored courses not; the next day shown counts from the start
            kept.append(0)
            continue
        a = j + 1
        spans = [(a, k + 1), (max(j, 0), k), (a, k)]  # (j,k], [j,k), (j,k)
        if not all(ok(d[x:y].sum()) and ok(c[x:y].sum()) and ok(d[x:y].sum() + c[x:y].sum()) for x, y in spans):
            continue
        events = np.flatnonzero(d[a:k + 1] > 0)
        if len(events) and c[a:a + int(events[-1])].sum() > 0:  # a censoring before an event: no telescoping
            continue
        if not ok(r[k] - d[k] - c[k]):
            continue
        kept.append(k)
        if ok(d[k]) and ok(c[k]):
            counted.append(k)
        j = k
    return [int(order[k]) for k in kept], [int(order[k]) for k in counted]


def _first(df: pd.DataFrame, st: Steps) -> int:
    """The position of the earliest day of a survival table."""
    return int(np.argsort(pd.to_numeric(df[st.time], errors="coerce").to_numpy(), kind="stable")[0])


def _matches(df: pd.DataFrame, other: pd.DataFrame, on: tuple[str, ...]) -> dict[int, int]:
    """Row positions of df -> the one row of other with the same values in `on` (rows with none or several
    are left out)."""
    if not on or any(c not in df or c not in other for c in on) or df.empty or other.empty:
        return {}
    keys = other[list(on)].astype(str).agg("\x1f".join, axis=1).tolist()
    where: dict[str, list[int]] = {}
    for j, key in enumerate(keys):
        where.setdefault(key, []).append(j)
    out = {}
    for i, key in enumerate(df[list(on)].astype(str).agg("\x1f".join, axis=1).tolist()):
        hits = where.get(key, [])
        if len(hits) == 1:
            out[i] = hits[0]
    return out


def _suppress(frames: dict, spec: Suppression, th: int, preset: Iterable[Cell] = (),
              mirror: dict[str, list[tuple[int, str]]] | None = None) -> tuple[int, int]:
    """Masks the frames of `spec`'s parts in place: (values masked, primary count). `preset`: count cells
    hidden from the start; `mirror`: (row, column) cells of a part to mask with the rest (rows of a part
    solved before, where that part hides them)."""
    masked = 0
    # survival tables first: rows that may not be shown go entirely (their counts too)
    for part, rule in spec.tables.items():
        df = frames.get(part)
        if rule.steps is not None and isinstance(df, pd.DataFrame) and not df.empty:
            kept, counted = _steps(df, rule.steps, th)
            st = rule.steps
            counts = [st.at_risk, st.events, st.censored]
            first = [i for i in kept[:1] if i not in set(counted) and kept[0] == _first(df, st)]
            for rows, cols in (([i for i in range(len(df)) if i not in set(kept)], [*counts, *st.columns]),
                               ([i for i in kept if i not in set(counted) and i not in first], counts),
                               (first, [st.censored])):
                masked += sum(int(df[c].iloc[rows].notna().sum()) for c in cols if c in df)
                _mask(df, rows, cols)
    problem = _Problem(frames, spec, th)
    hidden = problem.solve(preset)
    for part, rule in spec.tables.items():
        df = frames.get(part)
        if not isinstance(df, pd.DataFrame) or df.empty:
            continue
        hide: dict[str, list[int]] = {}
        for (p, i, column) in (c for c in hidden if c[0] == part and len(c) == 3):
            if problem.values.get((p, i, column)) is not None:
                hide.setdefault(column, []).append(i)
        n = len(df)

        def is_hidden(i: int, column: str) -> bool:
            return (part, i, column) in hidden and problem.values.get((part, i, column)) is not None

        for rate in rule.rates:
            rows = [i for i in range(n) if is_hidden(i, rate.numerator) or is_hidden(i, rate.denominator)]
            for column in rate.columns:
                hide.setdefault(column, []).extend(rows)
        for derived in rule.derived:
            rows = [i for i in range(n) if any(is_hidden(i, b) for b in derived.basis)]
            for column in derived.columns:
                hide.setdefault(column, []).extend(rows)
        for i, column in (mirror or {}).get(part, ()):
            hide.setdefault(column, []).append(i)
        for column, rows in hide.items():
            if column in df:
                rows = sorted(set(rows))
                masked += int(df[column].iloc[rows].notna().sum())
                _mask(df, rows, [column])
    for part, rule in spec.tables.items():  # parts computed from a figure of another: gone with it
        df = frames.get(part)
        if not rule.needs or not isinstance(df, pd.DataFrame) or df.empty:
            continue
        for need in rule.needs:
            ref = frames.get(need.part)
            if isinstance(ref, pd.DataFrame) and need.column in ref and ref[need.column].isna().any():
                masked += int(df.notna().sum().sum())
                _mask(df, range(len(df)), list(df.columns))
                break
    for part, rule in spec.tables.items():  # caps last: they read the shown reference values
        df = frames.get(part)
        if rule.cap is None or not isinstance(df, pd.DataFrame) or df.empty:
            continue
        ref = frames.get(rule.cap.ref_part)
        shown = pd.to_numeric(ref[rule.cap.ref_column], errors="coerce").dropna() if isinstance(ref, pd.DataFrame) and not ref.empty else pd.Series(dtype=float)
        limit = float(shown.max()) if not shown.empty else -math.inf
        beyond = np.flatnonzero(pd.to_numeric(df[rule.cap.column], errors="coerce").fillna(math.inf).to_numpy() > limit)
        if len(beyond):
            masked += int(df.iloc[beyond].notna().sum().sum())
            _mask(df, beyond, list(df.columns))
    return masked, len(problem.primary)


def apply(data, spec: Suppression | None, threshold: int | None = None) -> Result:
    """The chart's data with small counts and what would reveal them masked (NaN), and how many."""
    th = min_cell() if threshold is None else int(threshold)
    internal = spec.internal if spec is not None else frozenset()
    if internal and not isinstance(data, pd.DataFrame):  # parts that only decide what may be shown
        shown_data = {k: v for k, v in _frames(data).items() if k not in internal}
        if set(shown_data) == {""}:
            shown_data = shown_data[""]
    else:
        shown_data = data
    if spec is None or not spec.tables or th <= 1:
        return Result(shown_data, th, 0, 0)
    frames = {k: (v.copy() if isinstance(v, pd.DataFrame) else v) for k, v in _frames(data).items()}
    preset: list[Cell] = []
    mirror: dict[str, list[tuple[int, str]]] = {}
    if internal:
        # the parts holding every row first, on their own: what they hide, the parts of their rows hide too
        inner = {p: frames[p] for p in internal if isinstance(frames.get(p), pd.DataFrame)}
        solved = {p: df.copy() for p, df in inner.items()}
        _suppress(solved, Suppression({p: spec.tables[p] for p in inner}), th)
        for part, rule in spec.tables.items():
            df = frames.get(part)
            if rule.rows_of is None or rule.rows_of.part not in solved or not isinstance(df, pd.DataFrame):
                continue
            before, after = inner[rule.rows_of.part], solved[rule.rows_of.part]
            for i, j in _matches(df, before, rule.rows_of.on).items():
                if not rule.rows_of.applies(df, i):
                    continue
                for mine, theirs in rule.rows_of.pairs(df):
                    if mine in df and theirs in after and pd.isna(after[theirs].iloc[j]) \
                            and not pd.isna(before[theirs].iloc[j]):
                        mirror.setdefault(part, []).append((i, mine))
                        if mine in rule.counts:
                            preset.append((part, i, mine))
    outer = {p: r for p, r in spec.tables.items() if p not in internal}
    shown = {k: v for k, v in frames.items() if k not in internal}
    masked, primary = _suppress(shown, Suppression(outer), th, preset, mirror)
    # one frame left once the deciding parts are gone (a trajectory and the rates it follows): the frame
    out = shown[""] if isinstance(data, pd.DataFrame) or set(shown) == {""} else shown
    return Result(out, th, masked, primary, source=data)


def verify(data, spec: Suppression) -> list[str]:
    """The declared sums that do not hold on this (unsuppressed) data: a description that says a total
    adds up when it does not would protect nothing. Empty when every relation holds."""
    problem = _Problem(_frames(data), spec, 10**9)
    wrong = []
    for total, parts in problem.relations:
        if total == EXTERNAL:
            continue
        t = problem.values.get(total)
        values = [problem.values.get(p) for p in parts]
        if t is None or any(v is None for v in values):
            continue
        remainder = [p for p in parts if p[0] == "~"]
        s = sum(values)  # type: ignore[arg-type]
        if remainder:
            if any((problem.values[r] or 0) < 0 for r in remainder):
                wrong.append(f"{total}: parts {parts} exceed the total")
        elif abs(t - s) > 1e-6:
            wrong.append(f"{total} = {t} but its parts {parts} add up to {s}")
    return wrong
