"""Small path checks shared by the commands that create folders (the warehouse, saved scenarios)."""

from __future__ import annotations

from pathlib import Path


def blocking_file(folder: Path) -> Path | None:
    """What stops `folder` from being created: the nearest of it and its parents that exists and is
    not a folder (mkdir would only say "file exists" or "not a directory"); None when nothing does."""
    for place in (folder, *folder.parents):
        if place.exists() or place.is_symlink():
            return None if place.is_dir() else place
    return None
