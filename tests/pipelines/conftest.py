"""Fixtures for tests/pipelines. The helpers live in load_fixtures.py (a uniquely named module, so
`from load_fixtures import ...` cannot pick up another folder's conftest)."""

from load_fixtures import *  # noqa: F401,F403  (fixtures must be visible from conftest)
