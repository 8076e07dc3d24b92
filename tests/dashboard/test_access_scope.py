"""A clinic manager of one clinic sees nothing of another clinic: not a row, not a figure.

How: the same requests are answered from two warehouses, the bundled sample (three clinics) and a
warehouse loaded from the sample with every row of the other clinics removed (`one_clinic_batch`).
For the manager of DEN every answer must be identical in both: a figure that moved when the other
clinics' data was removed would be a figure of (or computed with) another clinic. On top, no other
clinic's id or name may appear in any answer, figure or page.

Covered: every public query function of dashboard.queries (filters of every kind: no clinic / own /
other / own+other / two others / unknown, four periods, modalities and indications, each option value
of each function), every catalog chart's data and figure with every option the catalog lists, every
page the role can open (AppTest, signed in as the manager) under URL parameters of every kind,
widget state forced to other clinics, and links carrying injection strings, unknown ids and oversized
values. Exports: see test_exports_are_scoped.
"""

from __future__ import annotations

import datetime as dt
import inspect
import io
import itertools
import json
import math
import time

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from access_testing import one_clinic_batch
from dashboard import queries
from dashboard.charts import catalog
from dashboard.filters import Filters
from dashboard_testing import ROOT
from pipelines.load.loader import load_batch
from pipelines.load.pseudonymize import Pseudonymizer
from pipelines.users.store import ENV_ACCESS_DIR, RolesStore

from dashboard import auth

OWN = "DEN"
OWN_NAME = "Denver Interventional Psychiatry"
OTHERS = {"OKC": "Oklahoma City Mood & Wellness", "NYC": "Infusion Clinic, New York"}
MANAGER = "den.manager@clinic.test"
SCOPE = auth.scope_for("clinic_manager", (OWN,))
APP = str(ROOT / "streamlit_app.py")
AUTH = {"auth": {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "c" * 40, "client_id": "analytics",
    "client_secret": "s" * 20, "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}}

CLINIC_REQUESTS = {
    "none": (), "own": (OWN,), "other": ("OKC",), "own+other": (OWN, "OKC"), "others": ("NYC", "OKC"),
    "unknown": ("NOPE",),
}
PERIODS = {
    "quarter": (dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
    "open": (None, None),
    "month": (dt.date(2025, 8, 1), dt.date(2025, 8, 31)),
    "sunday": (dt.date(2025, 1, 5), dt.date(2025, 1, 5)),  # DEN is closed on Sundays
}
MODALITIES = ((), ("iv_ketamine",), ("esketamine_nasal", "im_ketamine"))
INDICATIONS = ((), ("mdd",), ("ptsd", "mdd"), ("postpartum_depression",))


def filter_sets() -> list[tuple[str, Filters]]:
    """Every clinic request x every period, modality and indication cycled so each of their values
    meets each clinic request."""
    out = []
    for i, ((cname, clinics), (pname, (start, end))) in enumerate(itertools.product(CLINIC_REQUESTS.items(),
                                                                                    PERIODS.items())):
        modalities = MODALITIES[i % len(MODALITIES)]
        indications = INDICATIONS[(i // len(MODALITIES)) % len(INDICATIONS)]
        out.append((f"{cname}-{pname}-{'+'.join(modalities) or 'allmod'}-{'+'.join(indications) or 'allind'}",
                    Filters(clinics, start, end, modalities, indications)))
    return out


OPTION_VALUES = {
    "breakdown": sorted(queries.BREAKDOWNS),
    "instrument": list(catalog.INSTRUMENTS),
    "measure": sorted(queries.MEASURES),
    "effect": ["any", "nausea", "dissociation"],
    "evaluable_only": [True],
    "bin_mmhg": [10], "bin_minutes": [10], "bin_days": [14],
    "vital": list(catalog.VITALS),
    "load_id": [1], "failed_only": [True], "open_only": [False],
    "search": ["OKC", "Oklahoma", "'; select * from raw.sessions; --"], "kind": ["sessions", "clinics"],
}
PLUMBING = {"query", "current_version_path", "begin_run", "warehouse_ready", "pinned_version", "cursor"}


def query_functions():
    return [fn for name, fn in inspect.getmembers(queries, inspect.isfunction)
            if fn.__module__ == queries.__name__ and not name.startswith("_") and name not in PLUMBING]


# ------------------------------------------------------------------------------------------- worlds


@pytest.fixture(scope="module")
def one_clinic_db(tmp_path_factory):
    batch = one_clinic_batch(OWN, tmp_path_factory.mktemp("den-batch"))
    pointer = tmp_path_factory.mktemp("den-wh") / "clinic_analytics.duckdb"
    load_batch(batch, db=pointer, pseudonymizer=Pseudonymizer(b"k" * 32))
    return pointer


@pytest.fixture
def worlds(sample_db, one_clinic_db, monkeypatch):
    """call(fn, *args) -> (answer on the whole sample, answer on the one-clinic warehouse)."""
    def call(fn, *args, **kwargs):
        answers = []
        for db in (sample_db, one_clinic_db):
            monkeypatch.setenv("CLINIC_ANALYTICS_DB", str(db))
            try:
                answers.append(fn(*args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - compared below: both worlds must refuse alike
                answers.append(("raised", type(exc).__name__))
        return answers
    return call


# --------------------------------------------------------------------------------------- comparing


def _frames(answer) -> dict[str, object]:
    if isinstance(answer, pd.DataFrame):
        return {"": answer}
    if isinstance(answer, dict):
        return {k: v for k, v in answer.items()}
    if hasattr(answer, "__dataclass_fields__"):
        return {k: getattr(answer, k) for k in answer.__dataclass_fields__}
    return {"": answer}


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order (some queries have no ORDER BY: row order is not part of the answer)."""
    def key(value) -> str:
        return f"{value:.6g}" if isinstance(value, float) else str(value)

    order = sorted(range(len(df)), key=lambda i: tuple(key(v) for v in df.iloc[i]))
    return df.iloc[order].reset_index(drop=True)


def assert_same(full, alone, where: str) -> None:
    """Equal answers (floats to 1e-9 relative, rows in any order)."""
    a, b = _frames(full), _frames(alone)
    assert a.keys() == b.keys(), where
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(_ordered(x), _ordered(y), check_exact=False,
                                          rtol=1e-9, atol=1e-12, obj=f"{where}[{key}]")
        else:
            assert x == y, (where, key, x, y)


def foreign_strings(value) -> set[str]:
    """Other clinics' ids (as whole values) and names found anywhere in an answer."""
    found = set()
    for key, item in _frames(value).items():
        if isinstance(item, pd.DataFrame):
            for column in item.columns:
                if item[column].dtype == object or str(item[column].dtype).startswith(("string", "str")):
                    values = {str(v) for v in item[column].dropna()}
                    found |= {c for c in OTHERS if c in values}
                    found |= {n for n in OTHERS.values() if any(n in v for v in values)}
        else:
            text = json.dumps(item, default=str)
            found |= {n for n in OTHERS.values() if n in text}
            found |= {c for c in OTHERS if f'"{c}"' in text}
    return found


# ------------------------------------------------------------------------------------------ queries


@pytest.mark.parametrize("name, filters", filter_sets(), ids=[n for n, _ in filter_sets()])
def test_every_query_function_answers_as_if_other_clinics_did_not_exist(name, filters, worlds):
    for fn in query_functions():
        params = list(inspect.signature(fn).parameters)
        args = (SCOPE, filters) if params[:2] == ["scope", "f"] else (SCOPE,)
        full, alone = worlds(fn, *args)
        if fn is not queries.warehouse_info:  # the load's own time differs: test_network_facts_...
            assert_same(full, alone, f"{fn.__name__} {name}")
        assert not foreign_strings(full), (fn.__name__, name, foreign_strings(full))


@pytest.mark.parametrize("name, filters", [filter_sets()[0], filter_sets()[13]], ids=["none-quarter", "own+other-open"])
def test_every_option_of_every_query_function(name, filters, worlds):
    calls = 0
    for fn in query_functions():
        params = inspect.signature(fn).parameters
        head = (SCOPE, filters) if list(params)[:2] == ["scope", "f"] else (SCOPE,)
        for option in params:
            for value in OPTION_VALUES.get(option, []):
                full, alone = worlds(fn, *head, **{option: value})
                assert fn is not queries.warehouse_info
                assert_same(full, alone, f"{fn.__name__}({option}={value!r}) {name}")
                assert not foreign_strings(full), (fn.__name__, option, value)
                calls += 1
    assert calls > 60


def test_network_facts_are_withheld_from_the_manager(worlds):
    info, _ = worlds(queries.warehouse_info, SCOPE)
    assert info.open_quarantined_rows is None and info.last_load_quarantined_rows is None and info.last_load_batch is None
    for fn in (queries.loads, queries.load_files, queries.check_results, queries.quarantine_reasons,
               queries.quarantine_rows):
        full, _ = worlds(fn, SCOPE)
        assert full.empty and len(full.columns) > 0, fn.__name__
    director, _ = worlds(queries.quarantine_rows, auth.scope_for("medical_director"))
    operations, _ = worlds(queries.quarantine_rows, auth.scope_for("operations"))
    board, _ = worlds(queries.quarantine_rows, auth.scope_for("board"))
    assert director["original_values"].notna().any()
    assert not operations.empty and operations["original_values"].isna().all()
    assert board.empty


# ------------------------------------------------------------------------------------------ catalog


def _option_sets(spec) -> list[dict]:
    names = list(spec.options)
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*(spec.options[n] for n in names))]
    extra = [{"clinic_id": c} for c in ("OKC", OWN)] if "clinic_id" in spec.defaults else []
    return (combos or [{}]) + extra


@pytest.mark.parametrize("name, filters", [filter_sets()[0], filter_sets()[9], filter_sets()[13]],
                         ids=["none-quarter", "own-other-month", "own+other-open"])
def test_every_catalog_chart_data_and_figure(name, filters, worlds, sample_db, monkeypatch):
    monkeypatch.setenv("CLINIC_ANALYTICS_DB", str(sample_db))
    options = queries.filter_options(SCOPE)
    assert list(options.clinics) == [OWN]
    ctx = catalog.context(Filters(tuple(c for c in filters.clinics if c == OWN), filters.start, filters.end,
                                  filters.modalities, filters.indications), options)
    for spec in catalog.CATALOG:
        if spec.page == "Planning":
            continue  # plans: test_planning_is_scoped
        for opts in _option_sets(spec):
            full, alone = worlds(spec.data, SCOPE, filters, **opts)
            assert_same(full, alone, f"{spec.id} {opts} {name}")
            figure = spec.figure(full, ctx, **opts)
            text = json.dumps(figure.to_plotly_json(), default=str)
            assert not any(n in text for n in OTHERS.values()), (spec.id, opts)
            assert not any(f'"{c}"' in text for c in OTHERS), (spec.id, opts)


def test_planning_is_scoped(sample_db, monkeypatch):
    pq = pytest.importorskip("dashboard.plan_queries")
    monkeypatch.setenv("CLINIC_ANALYTICS_DB", str(sample_db))
    assert list(pq.plannable_clinics(SCOPE)) == [OWN]
    for clinic in ("OKC", "NYC", "NOPE", "", None):
        with pytest.raises(pq.PlanUnavailable):
            pq._check(SCOPE, clinic)
    assert pq._check(SCOPE, OWN) == OWN


def test_exports_are_scoped(worlds, sample_db, monkeypatch):
    """Every chart's CSV export (after suppression) and the board pack's pages (titles, subtitles, key
    figures, notes) for the manager: identical with and without the other clinics, and no other
    clinic's name or id. Images are the same figures drawn by Kaleido (their text is checked on one
    chart; drawing every chart here would only time Chromium)."""
    exports = pytest.importorskip("dashboard.exports")
    name, filters = filter_sets()[12]
    assert name.startswith("own+other-quarter")
    monkeypatch.setenv("CLINIC_ANALYTICS_DB", str(sample_db))
    options = queries.filter_options(SCOPE)
    ctx = catalog.context(Filters(tuple(c for c in filters.clinics if c == OWN), filters.start, filters.end,
                                  filters.modalities, filters.indications), options)
    for spec in catalog.CATALOG:
        if spec.page == "Planning":
            continue
        wanted = [{}] + [o for o in _option_sets(spec) if o.get("breakdown") == "clinic" or "clinic_id" in o][:2]
        for opts in wanted:  # (small-cell suppression takes seconds on some charts: defaults and the clinic views)
            full, alone = worlds(exports.export_chart, spec, SCOPE, filters, ctx, "csv", **opts)
            assert full.filename == alone.filename, (spec.id, opts)
            tables = [pd.read_csv(io.BytesIO(e.data)) if e.data.strip() else pd.DataFrame() for e in (full, alone)]
            assert_same(tables[0], tables[1], f"{spec.id} {opts} {name} CSV")
            text = full.data.decode("utf-8")
            assert not any(n in text for n in OTHERS.values()) and not any(f",{c}," in f",{text}," for c in OTHERS), spec.id
    from dashboard.exports import period as periods

    period = periods.custom(filters.start or dt.date(2025, 1, 1), filters.end or dt.date(2026, 6, 30))
    request = exports.BoardPackRequest(period=period, clinics=filters.clinics, modalities=filters.modalities,
                                       indications=filters.indications)
    full, alone = worlds(exports.build, SCOPE, request, generated_at=dt.datetime(2026, 7, 1), formats=())
    assert not isinstance(full, tuple), full
    shown = [[(p.chart_id, p.title, p.subtitle, p.key_figures, p.suppression, p.hidden) for p in pack.pages]
             for pack in (full, alone)]
    assert shown[0] == shown[1]
    text = json.dumps(shown[0]) + full.selection + full.title
    assert not any(n in text for n in OTHERS.values())
    svg = exports.export_chart(catalog.get("outcomes.rates_by_group"), SCOPE, filters, ctx, "svg",
                               breakdown="clinic").data.decode("utf-8")
    assert OWN_NAME.split()[0] in svg or "No " in svg
    assert not any(n.replace("&", "&amp;") in svg for n in OTHERS.values())


# -------------------------------------------------------------------------------------------- pages


def _signed_in(db, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.secrets = AUTH
    at.user = {"is_logged_in": True, "email": MANAGER, "email_verified": True, "iat": int(time.time())}
    if query:
        at.query_params.update(query)
    return at


def _shown(at: AppTest) -> dict[str, list]:
    """What a page shows, minus the load's own time stamp (it differs between two loads)."""
    def keep(text: str) -> bool:
        return "UTC" not in text and "load(s) so far" not in text

    charts = []
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        charts.append(_round(spec))
    return {
        "markdown": [m.value for m in at.markdown],
        "caption": [c.value for c in at.caption if keep(c.value)],
        "metric": [(m.label, m.value) for m in at.metric if m.label not in ("Last load",)],
        "alerts": [a.value for kind in ("info", "warning", "error", "success") for a in getattr(at, kind)],
        "charts": charts,
        "tables": [d.value.to_dict("split") for d in at.dataframe],
        "clinic_choices": [list(m.options) for m in at.multiselect if m.label == "Clinics"],
    }


def first_difference(a, b, path: str = "") -> str | None:
    """Where two nested structures first differ (for the assertion message)."""
    if type(a) is not type(b):
        return f"{path}: {a!r:.200} != {b!r:.200}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                return f"{path}.{key}: only on one side"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)} items: {a!r:.300} / {b!r:.300}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r:.300} != {b!r:.300}"


def _round(value):
    if isinstance(value, float):
        return float(f"{value:.9g}") if math.isfinite(value) else str(value)
    if isinstance(value, list):
        return [_round(v) for v in value]
    if isinstance(value, dict) and "bdata" in value and "dtype" in value:  # Plotly's binary arrays
        import base64

        import numpy as np

        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        return _round([float(v) if array.dtype.kind == "f" else v.item() for v in array.ravel()])
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items() if k not in ("uid",)}
    return value


LINKS = {
    "none": {},
    "own-whole-range": {"clinic": [OWN], "start": ["2025-01-01"], "end": ["2026-06-30"], "modality": ["iv_ketamine"],
                        "indication": ["mdd"]},
    "other-month": {"clinic": ["OKC"], "start": ["2025-08-01"], "end": ["2025-08-31"], "modality": ["esketamine_nasal"]},
    "mixed-injection": {"clinic": [f"{OWN},OKC", "NYC", "NOPE", "'; drop table raw.sessions; --"],
                        "start": ["2025-03-01"], "end": ["2025-09-30"], "indication": ["ptsd", "<script>x</script>"],
                        "plan_clinic": ["OKC"]},
}
MANAGER_PAGES = ["overview", "outcomes", "safety", "boosters", "capacity", "planning", "board_pack"]


@pytest.mark.parametrize("link", list(LINKS))
def test_every_page_of_the_manager_shows_only_their_clinic(link, sample_db, one_clinic_db, use_db, tmp_path,
                                                           monkeypatch):
    store = RolesStore(tmp_path / "access")
    monkeypatch.setenv(ENV_ACCESS_DIR, str(store.folder))
    store.grant(MANAGER, "clinic_manager", [OWN])
    shown = {}
    for world, db in (("sample", sample_db), ("alone", one_clinic_db)):
        use_db(db)
        at = _signed_in(db, LINKS[link]).run()
        # (a page without a script is the hidden /overview that forwards to the Overview)
        registered = {p["script_path"].rsplit("/", 1)[1][:-3] for p in at._registered_pages.values()
                      if p["script_path"]}
        assert registered == set(MANAGER_PAGES) - {"board_pack"}
        for page in MANAGER_PAGES:
            if page not in registered:
                continue
            if page != "overview":
                at.switch_page(f"dashboard/app_pages/{page}.py").run()
            assert not at.exception, (page, [e.value for e in at.exception])
            assert at.session_state["f_clinics"] in ([], [OWN])
            page_view = _shown(at)
            text = json.dumps(page_view, default=str)
            assert not any(n in text for n in OTHERS.values()), (world, page, link)
            assert page_view["clinic_choices"] in ([[OWN_NAME]], [])
            shown[(world, page)] = page_view
            if link == "none" and page in ("overview", "outcomes", "safety", "boosters", "capacity"):
                assert page_view["charts"] and page_view["markdown"], (world, page)  # something real is compared
    for page in MANAGER_PAGES:
        if ("sample", page) not in shown or page == "planning":
            continue  # a plan blends the network's trend in (docs/planning.md): checked for names and ids only
        difference = first_difference(shown[("sample", page)], shown[("alone", page)])
        assert difference is None, (page, link, difference)


def test_widget_state_forced_to_other_clinics_selects_nothing_of_theirs(sample_db, use_db, tmp_path, monkeypatch):
    """A session whose filter state names other clinics (a crafted message, a stale session) still
    reads only the manager's clinic: the query layer intersects with the Scope."""
    store = RolesStore(tmp_path / "access")
    monkeypatch.setenv(ENV_ACCESS_DIR, str(store.folder))
    store.grant(MANAGER, "clinic_manager", [OWN])
    use_db(sample_db)
    at = _signed_in(sample_db).run()
    at.session_state["f_clinics"] = ["OKC", "NYC"]
    at.switch_page("dashboard/app_pages/capacity.py").run()
    assert not at.exception
    text = json.dumps(_shown(at), default=str)
    assert not any(n in text for n in OTHERS.values())
    assert at.session_state["f_clinics"] == []  # sanitised to what this viewer can choose
    state = at.session_state["_page_state"]
    assert state.scope == SCOPE and queries.utilization(state.scope, Filters(("OKC", "NYC"))).empty


INJECTIONS = {
    "sql": "' OR 1=1; drop table raw.sessions; --",
    "markdown": "[x](javascript:alert(1))",
    "html": "<img src=x onerror=alert(1)>",
    "nul": "DEN\x00OKC",
    "unicode": "ＤＥＮ",
    "long": "O" * 10_000,
    "path": "../../etc/passwd",
}


@pytest.mark.parametrize("param", ["clinic", "start", "end", "modality", "indication", "plan_clinic", "plan_name",
                                   "plan_chairs", "plan_days"])
def test_links_with_injection_unknown_and_oversized_values(param, sample_db, use_db, tmp_path, monkeypatch):
    store = RolesStore(tmp_path / "access")
    monkeypatch.setenv(ENV_ACCESS_DIR, str(store.folder))
    store.grant(MANAGER, "clinic_manager", [OWN])
    use_db(sample_db)
    values = list(INJECTIONS.values()) + ["OKC", "NYC"] + [f"v{i}" for i in range(300)]
    at = _signed_in(sample_db, {param: values}).run()
    for page in ["overview", "outcomes", "capacity", "planning"]:
        if page != "overview":
            at.switch_page(f"dashboard/app_pages/{page}.py").run()
        assert not at.exception, (param, page, [e.value for e in at.exception])
        assert at.session_state["f_clinics"] in ([], [OWN])
        view = _shown(at)
        text = json.dumps(view, default=str)
        assert not any(n in text for n in OTHERS.values()), (param, page)
        if param in ("clinic", "start", "modality", "indication") and page == "overview":
            assert view["alerts"], (param, "a message says what was ignored")
        assert "<img" not in " ".join(m for m in view["markdown"] if "\\<img" not in m)
