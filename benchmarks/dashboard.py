"""Benchmark the dashboard at 50 clinics x 60 months (about 28 million vitals rows).

    .venv/bin/python benchmarks/dashboard.py [--out benchmarks/out/dashboard] [--runs 5] [--no-browser]

1. Generates the batch once (`python -m pipelines generate --clinics 50 --months 60 --start 2021-11-01
   --seed 3 --format parquet`, kept in OUT/batch_50x60) and loads it once with `python -m pipelines load`
   (kept in OUT/warehouse); both are reused on later runs.
2. Runs every page through Streamlit's AppTest with the default filters (last full quarter, all clinics)
   and records each SQL statement the page sends to DuckDB (a page in sections, Outcomes, Safety and Planning:
   its first section, then each other one as a row of its own, "outcomes › Clinics compared"); then times each
   statement on a fresh read-only connection: the first run (cold) and the median of --runs warm runs.
3. Starts the app as `make run` does (`python -m dashboard.serve`: streamlit run and its warm-up) and,
   in headless Chromium, times the first page the moment the server answers (the sign-in screen:
   JavaScript not yet cached, warm-up still running) and the Overview the sign-in lands on; then each
   page opened by URL (a new page load and script run; on a page in sections, then a click on each other
   section's tab, which reruns the page and draws that section), the median of 3 rounds of moving between
   pages with the sidebar (results cached) and of 3 rounds with one clinic selected, a different one
   each round (new queries on a warm connection). Then the sign-in and landing again on a new server
   whose warm-up is over (it prints a line when it is).
4. Starts the app in demo mode on the bundled sample (what `make run` serves: no sign-in) and times
   the first page the moment the server answers, in a new browser and after a restart in a browser
   that has the JavaScript cached, the same two once the warm-up is over, and each page opened by URL.

The generated warehouse is not the bundled sample, so the app requires sign-in (docs/access.md): the
AppTest runs are signed in as a medical director (AppTest.secrets / AppTest.user), and the browser
signs in through a local OpenID provider (tests/dashboard/access_testing.py).

Targets on the 2-core machine: each page's queries <= 150 ms median once warm; every page drawn <= 2 s.
Prints a table and writes OUT/results.json. The tests never time anything; this script does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "dashboard"))

BENCH_KEY = "dashboard-benchmark-pseudonym-key-0123456789"
PAGES = {"overview": "", "outcomes": "outcomes", "safety": "safety", "boosters": "boosters",
         "capacity": "capacity", "planning": "planning", "data_quality": "data-quality"}


def ensure_warehouse(out: Path) -> Path:
    batch = out / "batch_50x60"
    pointer = out / "warehouse" / "clinic_analytics.duckdb"
    py = sys.executable
    if not (batch / "vitals.parquet").exists():
        print("generating 50 clinics x 60 months ...", flush=True)
        subprocess.run([py, "-m", "pipelines", "generate", "--out", str(batch), "--clinics", "50", "--months", "60",
                        "--start", "2021-11-01", "--seed", "3", "--format", "parquet"], cwd=ROOT, check=True)
    if not pointer.exists():
        print("loading it (a few minutes) ...", flush=True)
        env = {**os.environ, "CLINIC_ANALYTICS_PSEUDONYM_KEY": BENCH_KEY}
        subprocess.run([py, "-m", "pipelines", "load", str(batch), "--db", str(pointer)], cwd=ROOT, check=True, env=env)
    else:  # a warehouse kept from an earlier run: its models are rebuilt if this code defines them differently
        rebuild_if_stale(pointer)
    return pointer


def rebuild_if_stale(pointer: Path) -> None:
    """Time this code's pages on this code's marts (an older build lacks columns the pages read)."""
    from pipelines.warehouse.rebuild import rebuild_models

    report = rebuild_models(pointer)
    if report.rebuilt:
        print(report.to_text(pointer), flush=True)


def label(sql: str, params: tuple) -> str:
    m = re.search(r"metrics\.(\w+)\(", sql) or re.search(r"(staging\.\w+|marts\.\w+)", sql)
    name = m.group(1) if m else sql[:40]
    extra = [str(p) for p in params if isinstance(p, str) and not re.fullmatch(r"\d{4}-\d\d-\d\d", p)]
    if "sum(occupied_chair_hours)" in sql:
        name = "utilization (pooled)"
    return f"{name}({', '.join(extra)})" if extra else name


def record_page_queries(pointer: Path) -> dict[str, list[tuple[str, tuple]]]:
    """Run each page in AppTest and record the statements it executes (every cache cleared first)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from dashboard import queries, settings
    from dashboard_testing import SECTIONS, open_section

    os.environ["CLINIC_ANALYTICS_DB"] = str(pointer)
    _grant_director(pointer)
    # Only the page's own statements: no background preparation of other pages while recording.
    prefetch_before = os.environ.get(settings.ENV_PREFETCH)
    os.environ[settings.ENV_PREFETCH] = "off"
    recorded: list[tuple[str, tuple]] = []
    original = queries._execute

    def recorder(version_path, sql, params):
        recorded.append((sql, params))
        return original(version_path, sql, params)

    queries._execute = recorder
    per_page: dict[str, list[tuple[str, tuple]]] = {}
    try:
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
        at.secrets = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "b" * 40,
                               "client_id": "bench", "client_secret": "bench",
                               "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}
        at.user = {"is_logged_in": True, "email": DIRECTOR, "email_verified": True, "iat": int(time.time())}
        def unique_statements() -> list[tuple[str, tuple]]:
            seen, unique = set(), []
            for sql, params in recorded:
                if (sql, params) not in seen:
                    seen.add((sql, params))
                    unique.append((sql, params))
            return unique

        for page in PAGES:
            st.cache_data.clear()
            recorded.clear()
            if page == "overview":
                at.run()
            else:
                at.switch_page(f"dashboard/app_pages/{page}.py").run()
            assert not at.exception, [e.value for e in at.exception]
            per_page[page] = unique_statements()
            # A page in sections runs only the open one (the first, by default): each other section's
            # statements are recorded as its own row, "outcomes › Clinics compared", as a click on its tab runs them.
            labels = SECTIONS[page][1] if page in SECTIONS else []
            for label in labels[1:]:
                st.cache_data.clear()
                recorded.clear()
                open_section(at, page, label)
                assert not at.exception, [e.value for e in at.exception]
                per_page[f"{page} › {label}"] = unique_statements()
            if labels:  # back to the first section, as the sidebar's next visit would otherwise open the last
                open_section(at, page, labels[0])
    finally:
        queries._execute = original
        if prefetch_before is None:
            os.environ.pop(settings.ENV_PREFETCH, None)
        else:
            os.environ[settings.ENV_PREFETCH] = prefetch_before
    return per_page


DIRECTOR = "benchmark.director@clinic.test"
# Sections without a chart: their tab is drawn once the script run is over (a medical director's sessions list
# is behind a toggle).
SECTIONS_WITHOUT_CHARTS = {"Sessions to review"}


def _grant_director(pointer: Path) -> Path:
    """A roles store beside the benchmark's warehouse with one medical director."""
    from pipelines.users.store import ENV_ACCESS_DIR, RolesStore

    folder = pointer.parent / "access"
    os.environ[ENV_ACCESS_DIR] = str(folder)
    RolesStore(folder).grant(DIRECTOR, "medical_director", by="benchmark")
    return folder


def time_queries(pointer: Path, per_page: dict, runs: int) -> dict:
    import duckdb

    version = str(pointer.resolve())
    con = duckdb.connect(version, read_only=True)
    results: dict[str, list[dict]] = {}
    timed: dict[tuple, dict] = {}
    for page, statements in per_page.items():
        rows = []
        for sql, params in statements:
            key = (sql, params)
            if key not in timed:
                args = [list(p) if isinstance(p, tuple) else p for p in params]
                times = []
                for _ in range(runs + 1):
                    cur = con.cursor()
                    t0 = time.perf_counter()
                    cur.execute(sql, args).df()
                    times.append((time.perf_counter() - t0) * 1000)
                    cur.close()
                timed[key] = {"query": label(sql, params), "cold_ms": times[0], "warm_ms": statistics.median(times[1:])}
            rows.append(timed[key])
        results[page] = rows
    con.close()
    return results


TITLES = {"overview": "Overview", "outcomes": "Outcomes", "safety": "Safety", "boosters": "Boosters",
          "capacity": "Capacity", "planning": "Planning", "data_quality": "Data quality"}


def _drawn_after(page, action, title: str, charts: bool = True) -> float:
    """Seconds from `action()` until the page titled `title` has finished its run and drawn every chart."""
    from browser import wait_until_drawn

    t0 = time.perf_counter()
    action()
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=120_000)
    wait_until_drawn(page, timeout_ms=120_000, charts=charts)
    return time.perf_counter() - t0


def _time_sections(page, name: str, timings: dict) -> None:
    """On a page in sections, click each other section's tab (a rerun that draws that section only) and time it
    as `timings["<page> › <label>"]["cold"]`; then open the first section again (not timed)."""
    tabs = page.get_by_test_id("stMain").get_by_role("tab")
    labels = tabs.all_inner_texts()
    for label in labels[1:]:
        elapsed = _drawn_after(page, lambda l=label: tabs.filter(has_text=l).click(), TITLES[name],
                               charts=label not in SECTIONS_WITHOUT_CHARTS)
        entry = timings.setdefault(f"{name} › {label}", {"cached": [], "one clinic": [], "exceptions": 0})
        entry["cold"] = elapsed
        entry["charts"] = page.locator('[data-testid="stPlotlyChart"]').count()
        entry["exceptions"] += page.locator('[data-testid="stException"]').count()
    if labels:
        _drawn_after(page, lambda: tabs.filter(has_text=labels[0]).click(), TITLES[name])


def _wait_for_warm_up(log: Path, timeout: float = 120) -> float:
    """Seconds waited until the server printed that its warm-up is over (dashboard.serve)."""
    from dashboard.serve import WARMED_UP

    t0 = time.perf_counter()
    while WARMED_UP not in log.read_text(errors="replace"):
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"no '{WARMED_UP}' line in {log} within {timeout} s")
        time.sleep(0.1)
    return time.perf_counter() - t0


def time_landing_after_warm_up(pointer: Path, out: Path) -> dict:
    """A new server, its warm-up awaited, then a new browser: the sign-in screen and the Overview the
    sign-in lands on (what the first viewer of the day gets from a server started earlier)."""
    from access_testing import app_server, oidc_provider, write_secrets
    from browser import chromium, free_port, wait_until_drawn

    access = _grant_director(pointer)
    port = free_port()
    log = out / "server-warm.log"
    with oidc_provider([DIRECTOR]) as issuer, app_server(
            pointer, access, log, secrets=write_secrets(out / "secrets.toml", issuer, port), port=port,
            timeout=180) as url:
        waited = _wait_for_warm_up(log)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            t0 = time.perf_counter()
            page.goto(url)
            wait_until_drawn(page, charts=False, timeout_ms=120_000)
            timings = {"warm_up_waited": waited, "sign_in_screen": time.perf_counter() - t0}
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda u: "/oauth2/authorize" in u, timeout=120_000)
            timings["landing"] = _drawn_after(
                page, lambda: page.get_by_role("button", name=DIRECTOR, exact=True).click(), TITLES["overview"])
    return timings


def time_browser(pointer: Path, out: Path, passes: int = 3) -> dict:
    """First visit of each page right after the server starts (page load by URL: nothing cached), then
    `passes` rounds of moving between pages with the sidebar as a user does (results cached), then
    `passes` rounds with one clinic selected (a different clinic each round: new queries)."""
    from access_testing import app_server, oidc_provider, sign_in, write_secrets
    from browser import chromium, free_port, wait_until_drawn

    clinics = _clinics(pointer)[:passes]
    timings: dict[str, dict] = {name: {"cached": [], "one clinic": [], "exceptions": 0} for name in PAGES}
    access = _grant_director(pointer)
    port = free_port()
    with oidc_provider([DIRECTOR]) as issuer, app_server(
            pointer, access, out / "server.log", secrets=write_secrets(out / "secrets.toml", issuer, port), port=port,
            timeout=180) as url:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            # The very first page after the server starts: the sign-in screen (JavaScript bundles not yet
            # cached, first script run: imports), then the Overview the sign-in lands on (first queries).
            t0 = time.perf_counter()
            page.goto(url)
            wait_until_drawn(page, charts=False, timeout_ms=120_000)
            timings["_first"] = {"sign_in_screen": time.perf_counter() - t0}
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda u: "/oauth2/authorize" in u, timeout=120_000)
            timings["_first"]["landing"] = _drawn_after(
                page, lambda: page.get_by_role("button", name=DIRECTOR, exact=True).click(), TITLES["overview"])
            for name, slug in PAGES.items():
                timings[name]["cold"] = _drawn_after(page, lambda: page.goto(f"{url}/{slug}"), TITLES[name])
                timings[name]["charts"] = page.locator('[data-testid="stPlotlyChart"]').count()
                _time_sections(page, name, timings)
            nav = lambda n: page.get_by_test_id("stSidebarNav").get_by_text(TITLES[n], exact=True).click()  # noqa: E731
            for round_ in range(passes + len(clinics)):
                if round_ >= passes:  # a new session with one clinic selected, then the same round of clicks
                    clinic = clinics[round_ - passes]
                    page.goto(f"{url}/data-quality?clinic={clinic}")
                    page.get_by_role("heading", name="Data quality", exact=True).wait_for(timeout=120_000)
                for name in PAGES:
                    elapsed = _drawn_after(page, lambda n=name: nav(n), TITLES[name])
                    timings[name]["cached" if round_ < passes else "one clinic"].append(elapsed)
                    timings[name]["exceptions"] += page.locator('[data-testid="stException"]').count()
    for name, values in timings.items():
        if name == "_first":
            continue
        values["cached"] = statistics.median(values["cached"]) if values["cached"] else None
        values["one clinic"] = statistics.median(values["one clinic"]) if values["one clinic"] else None
    return timings


def time_demo(out: Path) -> dict:
    """What `make run` gives a user: the app in demo mode on the bundled sample (no sign-in).
    - "first page": the first page after the server starts, in a browser that has never seen the app
      (nothing cached anywhere: JavaScript, Python imports, queries);
    - each page opened by URL afterwards;
    - "first page after a restart": the server restarted on the same port and the page opened in the
      same browser, whose HTTP cache now holds the app's JavaScript (a returning user after a restart)."""
    from access_testing import app_server
    from browser import chromium, free_port

    from pipelines import config
    from pipelines.load.loader import load_batch
    from pipelines.load.pseudonymize import Pseudonymizer

    pointer = out / "sample_warehouse" / "clinic_analytics.duckdb"
    if not pointer.exists():
        load_batch(config.SAMPLE_DIR, db=pointer, pseudonymizer=Pseudonymizer(BENCH_KEY.encode()))
    else:
        rebuild_if_stale(pointer)
    timings: dict[str, float] = {}
    port = free_port()
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        with app_server(pointer, out / "sample_access", out / "server-demo.log", port=port, timeout=180) as url:
            page = context.new_page()
            timings["first page"] = _drawn_after(page, lambda: page.goto(url), TITLES["overview"])
            for name, slug in PAGES.items():
                timings[name] = _drawn_after(page, lambda s=slug: page.goto(f"{url}/{s}"), TITLES[name])
            page.close()
        with app_server(pointer, out / "sample_access", out / "server-demo-2.log", port=port, timeout=180) as url:
            page = context.new_page()
            timings["first page after a restart"] = _drawn_after(page, lambda: page.goto(url), TITLES["overview"])
            page.close()
        # The same two, on a server whose warm-up is over (a viewer who comes a few seconds after the start).
        fresh = browser.new_context(viewport={"width": 1440, "height": 900})
        for name, in_context, log in (("first page after the warm-up", fresh, "server-demo-3.log"),
                                      ("first page after a restart and the warm-up", context, "server-demo-4.log")):
            with app_server(pointer, out / "sample_access", out / log, port=port, timeout=180) as url:
                _wait_for_warm_up(out / log)
                page = in_context.new_page()
                timings[name] = _drawn_after(page, lambda: page.goto(url), TITLES["overview"])
                page.close()
        fresh.close()
    return timings


def _clinics(pointer: Path) -> list[str]:
    import duckdb

    con = duckdb.connect(str(pointer.resolve()), read_only=True)
    try:
        return [r[0] for r in con.execute("select distinct clinic_id from marts.clinic_capacity order by 1").fetchall()]
    finally:
        con.close()


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "dashboard"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pointer = ensure_warehouse(out)

    print(f"load average before: {load_average()}", flush=True)
    per_page = record_page_queries(pointer)
    query_times = time_queries(pointer, per_page, args.runs)
    print(f"load average after queries: {load_average()}", flush=True)
    browser_times = {} if args.no_browser else time_browser(pointer, out)
    print(f"load average after browser: {load_average()}", flush=True)
    demo_times = {} if args.no_browser else time_demo(out)
    warm_landing = {} if args.no_browser else time_landing_after_warm_up(pointer, out)

    print()
    print(f"{'page':<36} {'query':<44} {'cold ms':>8} {'warm ms':>8}")
    for page, rows in query_times.items():
        for row in sorted(rows, key=lambda r: -r["warm_ms"]):
            flag = "  > 150 ms" if row["warm_ms"] > 150 else ""
            print(f"{page:<36} {row['query'][:44]:<44} {row['cold_ms']:>8.0f} {row['warm_ms']:>8.0f}{flag}")
    print()
    print(f"{'page':<36} {'queries':>7} {'max warm':>9} {'sum warm':>9} {'by URL':>11} {'revisit':>9} {'one clinic':>11} {'charts':>7}")
    summary = {}
    for page, rows in query_times.items():
        b = browser_times.get(page, {})
        summary[page] = {
            "queries": len(rows),
            "max_warm_ms": max((r["warm_ms"] for r in rows), default=0.0),
            "sum_warm_ms": sum(r["warm_ms"] for r in rows),
            "drawn_cold_s": b.get("cold"), "drawn_cached_s": b.get("cached"), "drawn_one_clinic_s": b.get("one clinic"),
            "charts": b.get("charts"), "exceptions": b.get("exceptions"),
        }
        s = summary[page]
        fmt = lambda v: f"{v:.2f} s" if v is not None else "-"  # noqa: E731
        print(f"{page:<36} {s['queries']:>7} {s['max_warm_ms']:>7.0f} ms {s['sum_warm_ms']:>6.0f} ms "
              f"{fmt(s['drawn_cold_s']):>11} {fmt(s['drawn_cached_s']):>9} {fmt(s['drawn_one_clinic_s']):>11} {s['charts'] if s['charts'] is not None else '-':>7}")
    if demo_times:
        print("\ndemo mode on the bundled sample (make run): first page after the server starts "
              f"{demo_times['first page']:.2f} s in a new browser, "
              f"{demo_times['first page after a restart']:.2f} s after a restart in a browser that has "
              "the app's JavaScript cached; once the server's warm-up is over: "
              f"{demo_times['first page after the warm-up']:.2f} s in a new browser, "
              f"{demo_times['first page after a restart and the warm-up']:.2f} s with the JavaScript cached; "
              "opened by URL: "
              + ", ".join(f"{name} {demo_times[name]:.2f} s" for name in PAGES))
    first = browser_times.get("_first")
    if first:
        print(f"\nfirst page after the server starts: sign-in screen drawn in {first['sign_in_screen']:.2f} s; "
              f"after choosing the user at the provider, the Overview drawn in {first['landing']:.2f} s")
    if warm_landing:
        print(f"the same once the server's warm-up is over (waited {warm_landing['warm_up_waited']:.1f} s after "
              f"it answered): sign-in screen {warm_landing['sign_in_screen']:.2f} s, Overview after the sign-in "
              f"{warm_landing['landing']:.2f} s")
    (out / "results.json").write_text(json.dumps(
        {"queries": query_times, "pages": summary, "first_page": first, "first_page_after_warm_up": warm_landing,
         "demo": demo_times,
         "load_average_end": load_average()},
        indent=2, default=str))
    print(f"\nwritten to {out / 'results.json'}")


if __name__ == "__main__":
    main()
