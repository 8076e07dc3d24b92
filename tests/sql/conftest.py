"""Fixtures of the model tests (the builder lives in sql_fixture.py)."""

import pytest

from sql_fixture import Warehouse


@pytest.fixture
def wh() -> Warehouse:
    w = Warehouse()
    yield w
    w.con.close()
