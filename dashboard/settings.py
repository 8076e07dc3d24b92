"""Dashboard settings read from the environment (the warehouse path itself is `pipelines.config.db_path`).

| variable | default | what |
|---|---|---|
| CLINIC_ANALYTICS_NETWORK_NAME | "Clinic network" | the network's name, shown in the app header and on every exported chart |
| CLINIC_ANALYTICS_LOGO | (none) | path to a PNG / SVG / JPEG logo shown in the sidebar and on exports |
| CLINIC_ANALYTICS_CACHE_TTL | 600 | seconds a query result stays cached (results are keyed by warehouse version anyway) |
| CLINIC_ANALYTICS_PREFETCH | on | "off" (or 0, false, no): do not prepare the other pages' results in the background (dashboard.prefetch) |
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_NETWORK_NAME = "CLINIC_ANALYTICS_NETWORK_NAME"
ENV_LOGO = "CLINIC_ANALYTICS_LOGO"
ENV_CACHE_TTL = "CLINIC_ANALYTICS_CACHE_TTL"
ENV_PREFETCH = "CLINIC_ANALYTICS_PREFETCH"

DEFAULT_NETWORK_NAME = "Clinic network"
LOGO_SUFFIXES = {".png", ".svg", ".jpg", ".jpeg"}


def network_name() -> str:
    name = os.environ.get(ENV_NETWORK_NAME, "").strip()
    return name[:80] if name else DEFAULT_NETWORK_NAME


def logo_path() -> Path | None:
    """The configured logo, or None when unset, missing or not an image file."""
    raw = os.environ.get(ENV_LOGO, "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if path.suffix.lower() not in LOGO_SUFFIXES or not path.is_file():
        return None
    return path


def cache_ttl_seconds() -> int:
    raw = os.environ.get(ENV_CACHE_TTL, "").strip()
    try:
        value = int(raw)
    except ValueError:
        return 600
    return value if value > 0 else 600


def prefetch_enabled() -> bool:
    return os.environ.get(ENV_PREFETCH, "").strip().lower() not in ("off", "0", "false", "no")
