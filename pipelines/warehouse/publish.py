"""Versioned warehouse files and the pointer readers follow.

DuckDB lets no other process open a file that one process holds read-write, not even read-only.
So a load never writes the file readers use: it copies the published version to a new
`vNNNNNN.duckdb.building` file, loads into that, closes it, renames it to `vNNNNNN.duckdb` and then
swaps the pointer (a relative symlink at the configured path) with `os.replace`, which is atomic.
A reader resolves the pointer once and opens that version read-only; it sees the old state or the
new one, never a half-written file. A loader killed at any moment leaves only a `.building` file,
which the next loader removes.

Layout for a pointer `warehouse/clinic_analytics.duckdb`:

    warehouse/clinic_analytics.duckdb            -> clinic_analytics.duckdb.versions/v000007.duckdb
    warehouse/clinic_analytics.duckdb.versions/  v000005.duckdb v000006.duckdb v000007.duckdb lock
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipelines.errors import WarehouseError
from pipelines.paths import blocking_file

_VERSION_RE = re.compile(r"^v(\d{6,})\.duckdb$")
_BUILDING_SUFFIX = ".building"


class Warehouse:
    def __init__(self, pointer: str | os.PathLike):
        self.pointer = Path(pointer)
        self.versions_dir = self.pointer.with_name(self.pointer.name + ".versions")

    # -- reading ---------------------------------------------------------------------------
    def current_path(self) -> Path | None:
        """The published version file, or None when nothing was ever published."""
        if not self.pointer.is_symlink():
            if self.pointer.is_dir():
                raise WarehouseError(
                    f"{self.pointer} is a folder, not a warehouse pointer; point --db or CLINIC_ANALYTICS_DB "
                    f"at a file path inside it, e.g. {self.pointer / 'clinic_analytics.duckdb'}"
                )
            if self.pointer.exists():
                raise WarehouseError(
                    f"{self.pointer} is a plain file, not a warehouse pointer; "
                    "point --db or CLINIC_ANALYTICS_DB at a new path"
                )
            return None
        try:
            target = self.pointer.resolve()
        except (RuntimeError, OSError) as exc:  # a loop of links (Python 3.11 raises RuntimeError)
            raise WarehouseError(f"{self.pointer} is a link that leads nowhere ({exc}); "
                                 "point --db or CLINIC_ANALYTICS_DB at a new path") from None
        return target if target.exists() else None

    def current_version(self) -> int | None:
        path = self.current_path()
        return version_number(path) if path else None

    # -- writing ---------------------------------------------------------------------------
    def make_parent(self) -> None:
        """Create the pointer's folder (and its parents) if missing."""
        blocking = blocking_file(self.pointer.parent)
        if blocking is not None:
            raise WarehouseError(f"{blocking} is a file, not a folder: the warehouse {self.pointer} "
                                 "cannot be created under it; point --db or CLINIC_ANALYTICS_DB elsewhere")
        self.pointer.parent.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def lock(self, wait_seconds: float = 600.0) -> Iterator[None]:
        """One loader at a time. The OS drops the lock when the holder dies, even by SIGKILL."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.versions_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + wait_seconds
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise WarehouseError(
                            f"another load into {self.pointer} has held the lock for over "
                            f"{wait_seconds:.0f} s; try again when it has finished"
                        ) from None
                    time.sleep(0.2)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def remove_stale_builds(self) -> list[Path]:
        """Delete what a killed loader left behind. Call only while holding the lock."""
        removed = []
        if self.versions_dir.exists():
            for path in self.versions_dir.iterdir():
                if _BUILDING_SUFFIX in path.name:
                    path.unlink(missing_ok=True)
                    removed.append(path)
        return removed

    def start_build(self) -> Path:
        """A private, writable copy of the published version (or a new empty file)."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        numbers = [version_number(p) for p in self.versions_dir.glob("v*.duckdb")]
        next_number = max([n for n in numbers if n is not None], default=0) + 1
        building = self.versions_dir / f"v{next_number:06d}.duckdb{_BUILDING_SUFFIX}"
        current = self.current_path()
        if current is not None:
            shutil.copyfile(current, building)
            os.chmod(building, 0o600)  # health data: owner only while it is being written
        return building

    def publish(self, building: Path) -> Path:
        """Make a finished build the published version, atomically. Returns the version file."""
        if not building.name.endswith(_BUILDING_SUFFIX):
            raise WarehouseError(f"{building} is not a build file")
        wal = building.with_name(building.name + ".wal")
        if wal.exists():
            raise WarehouseError(f"{building} still has a write-ahead log; close it before publishing")
        final = building.with_name(building.name[: -len(_BUILDING_SUFFIX)])
        _fsync_file(building)
        os.chmod(building, 0o440)  # published versions are never written again
        os.replace(building, final)
        tmp_link = self.pointer.with_name(f".{self.pointer.name}.{os.getpid()}.swap")
        tmp_link.unlink(missing_ok=True)
        os.symlink(os.path.relpath(final, self.pointer.parent), tmp_link)
        os.replace(tmp_link, self.pointer)
        _fsync_dir(self.versions_dir)
        _fsync_dir(self.pointer.parent)
        return final

    def prune(self, keep: int) -> list[Path]:
        """Delete all but the newest `keep` versions (a reader already inside one keeps its handle)."""
        current = self.current_path()
        versions = sorted(
            (p for p in self.versions_dir.glob("v*.duckdb") if version_number(p) is not None),
            key=lambda p: version_number(p) or 0,
        )
        doomed = [p for p in versions[:-keep] if p != current] if keep > 0 else []
        for path in doomed:
            path.unlink(missing_ok=True)
        return doomed


def version_number(path: Path) -> int | None:
    match = _VERSION_RE.match(path.name)
    return int(match.group(1)) if match else None


def resolve_version(pointer: str | os.PathLike) -> Path | None:
    """The file a reader should open right now, or None when no warehouse was published yet."""
    return Warehouse(pointer).current_path()


def connect_read_only(pointer: str | os.PathLike, attempts: int = 5) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """Open the published version read-only; retry if a load pruned it between resolve and open."""
    last_error: Exception | None = None
    for _ in range(attempts):
        path = resolve_version(pointer)
        if path is None:
            raise WarehouseError(
                f"no warehouse at {pointer}: load a batch first (python -m pipelines load DIR)"
            )
        try:
            return duckdb.connect(str(path), read_only=True), path
        except duckdb.IOException as exc:  # pruned under our feet: resolve again
            last_error = exc
            time.sleep(0.05)
    raise WarehouseError(f"could not open the warehouse at {pointer}: {last_error}")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
