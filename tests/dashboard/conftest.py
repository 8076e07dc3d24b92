"""Fixtures of the dashboard tests: real DuckDB warehouses built by the real loader.

- `sample_db`: data_samples/ loaded once per session (3 clinics, 18 months, with defects);
- `empty_db`: a pointer path where nothing has been loaded yet;
- `use_db`: points CLINIC_ANALYTICS_DB at a warehouse for one test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dashboard_testing import ARTIFACTS
from pipelines import config
from pipelines.load.loader import load_batch
from pipelines.load.pseudonymize import Pseudonymizer


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    pointer = tmp_path_factory.mktemp("dashboard-wh") / "clinic_analytics.duckdb"
    load_batch(config.SAMPLE_DIR, db=pointer, pseudonymizer=Pseudonymizer(b"k" * 32))
    return pointer


@pytest.fixture(scope="session")
def clinics_only_db(tmp_path_factory) -> Path:
    """A warehouse whose only load held the clinics file: clinics, but no session, so no data period."""
    batch = tmp_path_factory.mktemp("clinics-only-batch")
    shutil.copyfile(config.SAMPLE_DIR / "clinics.csv", batch / "clinics.csv")
    pointer = tmp_path_factory.mktemp("dashboard-clinics-only") / "clinic_analytics.duckdb"
    load_batch(batch, db=pointer, pseudonymizer=Pseudonymizer(b"k" * 32))
    return pointer


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dashboard-empty") / "clinic_analytics.duckdb"


@pytest.fixture
def use_db(monkeypatch):
    def point(db: Path) -> Path:
        monkeypatch.setenv(config.ENV_DB, str(db))
        return db

    return point


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session", autouse=True)
def _no_background_prefetch():
    """AppTests and test servers do not prepare other pages' results in the background (threads that
    would outlive a test and its warehouse); tests of dashboard.prefetch turn it on themselves."""
    from dashboard import settings

    previous = os.environ.get(settings.ENV_PREFETCH)
    os.environ[settings.ENV_PREFETCH] = "off"
    yield
    if previous is None:
        os.environ.pop(settings.ENV_PREFETCH, None)
    else:
        os.environ[settings.ENV_PREFETCH] = previous


@pytest.fixture(autouse=True)
def _no_stray_db_env(monkeypatch):
    # each test says which warehouse it reads
    if config.ENV_DB in os.environ:
        monkeypatch.delenv(config.ENV_DB)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium (Playwright), one per test module of the browser tests."""
    from browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def page(browser):
    """A fresh browser context (no cookies, no cache) and page at the tests' viewport."""
    from browser import VIEWPORT

    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    yield page
    context.close()
