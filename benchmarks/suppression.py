"""Time the small-count suppression of every chart in the catalog, as a board member's pages ask for it.

    .venv/bin/python benchmarks/suppression.py [--db PATH] [--months 6] [--exhaustive]

For the warehouse given (default: the one `make run` serves, CLINIC_ANALYTICS_DB or warehouse/), every chart of
every page is fetched for all clinics over the default period (the last full quarter) and over each of the
last --months months, then suppressed; prints each chart's slowest suppression and the total per page.
Suppression runs on every board member's page and every export, after the query, so it adds to the page's
2 s budget. --exhaustive also times the audit as it was before 28 Nov 2026 (every candidate cell checked with
its own factorisation), for the charts where the audit has to free a pinned-down cell.
The tests never time anything; this script does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _months(end: dt.date, count: int) -> list[tuple[dt.date, dt.date]]:
    out = []
    first = end.replace(day=1)
    for _ in range(count):
        last = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        out.append((first, last))
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="warehouse pointer (default: the app's setting)")
    parser.add_argument("--months", type=int, default=6, help="last full months timed besides the quarter")
    parser.add_argument("--exhaustive", action="store_true", help="also time the audit trying every candidate")
    args = parser.parse_args()
    if args.db:
        os.environ["CLINIC_ANALYTICS_DB"] = str(args.db)
    import streamlit.logger

    streamlit.logger.set_log_level("error")
    from dashboard import queries, suppression
    from dashboard.charts import catalog
    from dashboard.filters import Filters, default_period
    from dashboard.scope import Scope

    scope = Scope.everything()
    options = queries.filter_options(scope)
    quarter = default_period(options.data_start, options.data_end)
    periods = [(quarter.start, quarter.end)] + _months(quarter.end, args.months)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {len(options.clinics)} clinics; "
          f"{quarter.label} and the {args.months} months before its end", flush=True)
    slow: list[tuple[float, str, tuple]] = []
    for page in catalog.PAGES:
        page_total = 0.0
        for spec in catalog.for_page(page):
            if spec.suppression is None:
                continue
            worst = (0.0, None)
            for start, end in periods:
                data = spec.data(scope, Filters(start=start, end=end))
                started = time.perf_counter()
                spec.suppressed(data)
                seconds = time.perf_counter() - started
                if start == quarter.start:
                    page_total += seconds
                worst = max(worst, (seconds, (start, end)), key=lambda w: w[0])
            slow.append((worst[0], spec.id, worst[1]))
        print(f"  {page:<13} default quarter, every chart: {page_total:6.2f} s", flush=True)
    print("slowest charts (worst period):")
    for seconds, chart_id, (start, end) in sorted(slow, reverse=True)[:8]:
        print(f"  {chart_id:<36} {seconds:6.2f} s  ({start} to {end})")
    if args.exhaustive:
        real = suppression._Problem._may_free
        print("the same, trying every candidate cell (the audit before 28 Nov 2026):")
        for _, chart_id, (start, end) in sorted(slow, reverse=True)[:3]:
            spec = catalog.get(chart_id)
            data = spec.data(scope, Filters(start=start, end=end))
            suppression._Problem._may_free = lambda self, *a: (lambda x: True)
            try:
                started = time.perf_counter()
                spec.suppressed(data)
                seconds = time.perf_counter() - started
            finally:
                suppression._Problem._may_free = real
            print(f"  {chart_id:<36} {seconds:6.2f} s  ({start} to {end})")


if __name__ == "__main__":
    main()
