"""dashboard.serve's start: what it imports before the first visitor, and the objects it keeps out of
every later garbage collection (Streamlit collects in full after each script run)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest

from dashboard import serve, settings
from dashboard_testing import ROOT


class _Marker:
    """A plain object the cyclic garbage collector tracks (instances of user classes are tracked)."""


def _tracked(obj) -> bool:
    """Whether a full collection would walk `obj` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process goes on collecting as usual


def test_freezing_keeps_the_objects_alive_now_out_of_later_collections(unfrozen):
    before = _Marker()
    assert _tracked(before)
    serve.freeze_long_lived()
    after = _Marker()
    assert gc.get_freeze_count() > 0
    assert not _tracked(before)  # the server's modules, caches and runtime: never walked again
    assert _tracked(after)  # what a page run creates is still collected


def test_the_warm_up_freezes_what_it_prepared(unfrozen, monkeypatch, sample_db, use_db):
    use_db(sample_db)
    monkeypatch.setenv(settings.ENV_PREFETCH, "on")
    said = serve.warm_up(runtime_started=lambda: True, wait_seconds=1, preload=False)
    assert said.startswith(serve.WARMED_UP), said
    frozen = gc.get_freeze_count()
    assert frozen > 0
    created = _Marker()
    assert _tracked(created) and gc.get_freeze_count() == frozen


# Run in a fresh interpreter: this test process has imported everything already.
_FIRST_VISIT = """
import json, logging, os, sys
logging.disable(logging.WARNING)
from dashboard import serve
serve._preload()
from streamlit.testing.v1 import AppTest
before = set(sys.modules)
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
print(json.dumps({"exceptions": [str(e.value) for e in at.exception], "imported": sorted(set(sys.modules) - before)}))
"""


def test_a_first_visit_after_the_preload_imports_none_of_the_apps_modules(sample_db, tmp_path):
    """The first visitor's script run should not import a module of its own: PIL (the favicon), the
    product's packages, Streamlit's icon names. (Plotly's trace modules come with the warm-up's figures,
    which this bare preload does not draw.)"""
    env = {**os.environ, "CLINIC_ANALYTICS_DB": str(sample_db), settings.ENV_PREFETCH: "off",
           "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", _FIRST_VISIT, str(ROOT / "streamlit_app.py")], env=env,
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["exceptions"] == []
    late = [m for m in result["imported"]
            if m.split(".")[0] in {"PIL", "pipelines", "dashboard"} or m == "streamlit.material_icon_names"]
    assert late == []
