"""The server settings `make run` gets from .streamlit/config.toml, read by Streamlit's own parser.

The browser tests and benchmarks start the app the way `make run` does and take these settings from
the same file, so a setting that goes missing here would change what they measure as well."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit import config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project_options(monkeypatch):
    monkeypatch.chdir(ROOT)  # Streamlit reads ./.streamlit/config.toml from the working folder
    config.get_config_options(force_reparse=True)
    yield config.get_option
    monkeypatch.undo()
    config.get_config_options(force_reparse=True)


def test_the_server_listens_on_loopback_and_reports_nothing(project_options):
    assert project_options("server.address") == "127.0.0.1"
    assert project_options("server.headless") is True
    assert project_options("browser.gatherUsageStats") is False


def test_the_server_does_not_watch_its_source_files(project_options):
    # Watching cost pages up to 0.6 s (docs/dashboard.md); a clinic's server never edits its code.
    assert project_options("server.fileWatcherType") == "none"
    assert project_options("server.runOnSave") is False


def test_the_defaults_differ_so_the_file_is_what_sets_them(monkeypatch, tmp_path):
    # Without the project's file Streamlit would watch files and send usage statistics.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    config.get_config_options(force_reparse=True)
    try:
        assert config.get_option("server.fileWatcherType") != "none"
        assert config.get_option("browser.gatherUsageStats") is True
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)
