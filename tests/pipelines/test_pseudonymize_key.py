"""The pseudonymization key (docs/privacy.md): from the environment or a key file; made on first use
into a file only its owner can read; never silently replaced."""

from __future__ import annotations

import stat

import pytest

from load_fixtures import NOW, write_batch
from pipelines import config
from pipelines.errors import KeyProblem, LoadError
from pipelines.load.loader import load_batch
from pipelines.load.pseudonymize import default_pseudonymizer


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    """No key in the environment; the key file at a path of this test's own."""
    monkeypatch.delenv(config.ENV_KEY, raising=False)
    path = tmp_path / "config" / "clinic-analytics" / "pseudonymization.key"
    monkeypatch.setenv(config.ENV_KEY_FILE, str(path))
    return path


def test_a_key_is_made_on_first_use_readable_by_its_owner_only_and_kept(key_file):
    first = default_pseudonymizer()
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert len(key_file.read_bytes().strip()) >= 32
    assert default_pseudonymizer().fingerprint() == first.fingerprint()  # read back, not made again
    assert first("P-1") == default_pseudonymizer()("P-1")


@pytest.mark.parametrize("problem", ["readable_by_others", "a_folder", "too_short", "short_env"])
def test_a_key_that_cannot_be_used_is_refused_with_what_to_do(key_file, monkeypatch, problem):
    key_file.parent.mkdir(parents=True)
    if problem == "readable_by_others":
        key_file.write_text("k" * 64)
        key_file.chmod(0o644)
        words = f"chmod 600 {key_file}"
    elif problem == "a_folder":
        key_file.mkdir(mode=0o700)  # mode 700: it once passed the permission check and failed as "internal error"
        words = "is a folder"
    elif problem == "too_short":
        key_file.write_text("short")
        key_file.chmod(0o600)
        words = "fewer than 32"
    else:
        monkeypatch.setenv(config.ENV_KEY, "short")
        words = "at least 32"
    with pytest.raises(KeyProblem, match=words):
        default_pseudonymizer()


def test_a_warehouse_is_never_loaded_with_another_key_and_no_new_key_is_made_for_it(key_file, tmp_path, monkeypatch):
    """A mistyped key path made a new key file, then refused the load: the stray key stayed behind."""
    def load_batch_with_key_file(batch, db, key=key_file):
        monkeypatch.setenv(config.ENV_KEY_FILE, str(key))
        return load_batch(batch, db=db, now=NOW)  # the key from the file: no pseudonymizer given

    db = tmp_path / "wh" / "clinic_analytics.duckdb"
    first = write_batch(tmp_path / "b1", {}, base=True)
    assert load_batch_with_key_file(first, db).published
    made = key_file.read_bytes()

    other = tmp_path / "elsewhere" / "other.key"
    other.parent.mkdir()
    other.write_text("o" * 64)
    other.chmod(0o600)
    with pytest.raises(LoadError, match="different key"):
        load_batch_with_key_file(tmp_path / "b1", db, key=other)

    mistyped = tmp_path / "mistyped" / "pseudonymisation.key"
    with pytest.raises(KeyProblem, match="no new key was made"):
        load_batch_with_key_file(tmp_path / "b1", db, key=mistyped)
    assert not mistyped.exists() and not mistyped.parent.exists()
    assert key_file.read_bytes() == made
