"""Settings read from the environment, with the documented defaults.

Every path and knob the product has lives here, so the README, the CLI and the app agree.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
SAMPLE_DIR = PROJECT_ROOT / "data_samples"

ENV_DB = "CLINIC_ANALYTICS_DB"
ENV_KEY = "CLINIC_ANALYTICS_PSEUDONYM_KEY"
ENV_KEY_FILE = "CLINIC_ANALYTICS_KEY_FILE"
ENV_MAX_BROKEN_SHARE = "CLINIC_ANALYTICS_MAX_BROKEN_SHARE"
ENV_KEEP_VERSIONS = "CLINIC_ANALYTICS_KEEP_VERSIONS"
ENV_LOAD_MEMORY = "CLINIC_ANALYTICS_LOAD_MEMORY"

# Relative to the working directory: `make run` and `make test` run from the project root.
DEFAULT_DB = Path("warehouse") / "clinic_analytics.duckdb"
DEFAULT_MAX_BROKEN_SHARE = 0.20
DEFAULT_KEEP_VERSIONS = 3


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    """The warehouse pointer: --db, else $CLINIC_ANALYTICS_DB, else ./warehouse/clinic_analytics.duckdb."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_DB)
    return Path(env) if env else DEFAULT_DB


def key_file_path() -> Path:
    """Where the pseudonymization key lives when it is not given in the environment.

    Outside the repository on purpose: ~/.config/clinic-analytics/pseudonymization.key
    (or $XDG_CONFIG_HOME/...), unless $CLINIC_ANALYTICS_KEY_FILE names another file.
    """
    env = os.environ.get(ENV_KEY_FILE)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "clinic-analytics" / "pseudonymization.key"


def max_broken_share() -> float:
    raw = os.environ.get(ENV_MAX_BROKEN_SHARE)
    if raw is None or raw == "":
        return DEFAULT_MAX_BROKEN_SHARE
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_MAX_BROKEN_SHARE}={raw!r} is not a number between 0 and 1") from None
    if not 0 <= value <= 1:
        raise ConfigError(f"{ENV_MAX_BROKEN_SHARE}={raw!r} is not a number between 0 and 1")
    return value


def keep_versions() -> int:
    raw = os.environ.get(ENV_KEEP_VERSIONS)
    if not raw:
        return DEFAULT_KEEP_VERSIONS
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{ENV_KEEP_VERSIONS}={raw!r} is not a whole number >= 2") from None
    if value < 2:
        raise ConfigError(f"{ENV_KEEP_VERSIONS}={raw!r} is not a whole number >= 2")
    return value


_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGT])I?B?$", re.IGNORECASE)  # DuckDB needs the unit
MIN_LOAD_MEMORY = 256 * 1000**2  # below this DuckDB runs out of memory on the first large file


def load_memory_limit() -> str:
    """DuckDB's memory limit while loading (it spills to disk beyond it); default 1GB, at least 256MB."""
    raw = os.environ.get(ENV_LOAD_MEMORY, "1GB").strip()
    match = _SIZE.match(raw)
    if not match:
        raise ConfigError(f"{ENV_LOAD_MEMORY}={raw!r} is not a size such as 1GB or 800MB")
    number, unit = float(match.group(1)), match.group(2).upper()
    if number * 1000 ** "_KMGT".index(unit) < MIN_LOAD_MEMORY:
        raise ConfigError(f"{ENV_LOAD_MEMORY}={raw!r} is too small: the load needs at least 256MB")
    return raw


@dataclass(frozen=True)
class LoadSettings:
    max_broken_share: float = DEFAULT_MAX_BROKEN_SHARE
    keep_versions: int = DEFAULT_KEEP_VERSIONS

    @classmethod
    def from_env(cls) -> "LoadSettings":
        return cls(max_broken_share=max_broken_share(), keep_versions=keep_versions())
