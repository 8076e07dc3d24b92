"""The roles store: who may open the app, with which role, for which clinics.

One small JSON file, `roles.json`, in the access folder (default: `access/` beside the warehouse
pointer, e.g. `warehouse/access/roles.json`; `CLINIC_ANALYTICS_ACCESS_DIR` overrides it). It is kept
out of the versioned warehouse files on purpose: those are rebuilt by every load and opened
read-only by the app, while grants must survive loads and change without one.

Why JSON and not DuckDB: DuckDB lets one process hold a file for writing and no other process
open it meanwhile, so the app (which reads grants on every rerun) and `python -m pipelines users
grant` would lock each other out. A JSON file replaced atomically (write a temporary file, fsync,
rename) is always read whole and consistent; writers take an exclusive lock (`roles.lock`) for
their read-modify-write. The folder is created mode 700 and the files mode 600.

Every grant and revocation is also written to the access log (pipelines.users.audit).
The app reads the file on every rerun, so a grant or revocation applies at the viewer's next click.
A file that exists but cannot be read fails closed: nobody signs in until it is fixed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines import config
from pipelines.errors import ConfigError, UsageError

ENV_ACCESS_DIR = "CLINIC_ANALYTICS_ACCESS_DIR"
ROLES_FILE = "roles.json"
LOCK_FILE = "roles.lock"
FORMAT = 1

MEDICAL_DIRECTOR = "medical_director"
OPERATIONS = "operations"
CLINIC_MANAGER = "clinic_manager"
BOARD = "board"
ROLES = (MEDICAL_DIRECTOR, OPERATIONS, CLINIC_MANAGER, BOARD)
ROLE_SUMMARY = {
    MEDICAL_DIRECTOR: "all clinics, every page, quarantined row values, the access log",
    OPERATIONS: "all clinics: overview, aggregate outcomes, boosters, capacity, planning, data quality without row values",
    CLINIC_MANAGER: "their clinics only: overview, outcomes, safety, boosters, capacity, planning",
    BOARD: "all clinics, aggregated and suppressed views and the board pack only",
}

MAX_EMAIL = 254
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
_CLINIC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def access_dir(db: str | os.PathLike | None = None) -> Path:
    """$CLINIC_ANALYTICS_ACCESS_DIR, else `access/` beside the warehouse pointer."""
    env = os.environ.get(ENV_ACCESS_DIR, "").strip()
    if env:
        return Path(env)
    return config.db_path(db).parent / "access"


def normalise_email(text: str) -> str:
    """Trimmed and lower-cased; UsageError when it is not one plausible address."""
    email = (text or "").strip().lower()
    if not email or len(email) > MAX_EMAIL or not _EMAIL.match(email):
        shown = email[:60] + ("…" if len(email) > 60 else "")
        raise UsageError(f"{shown!r} is not an e-mail address")
    return email


def check_clinic_id(text: str) -> str:
    clinic = (text or "").strip()
    if not _CLINIC_ID.match(clinic):
        shown = clinic[:40] + ("…" if len(clinic) > 40 else "")
        raise UsageError(f"{shown!r} is not a clinic id (letters, digits, '_', '.', '-'; at most 64)")
    return clinic


@dataclass(frozen=True)
class Grant:
    email: str
    role: str
    clinics: tuple[str, ...] = ()  # clinic_manager only; empty for the other roles (all clinics)
    granted_at: str = ""  # UTC, ISO 8601
    granted_by: str = ""

    def to_json(self) -> dict:
        out = asdict(self)
        out["clinics"] = list(self.clinics)
        return out

    @classmethod
    def from_json(cls, raw: object) -> Grant:
        if not isinstance(raw, dict):
            raise ValueError("a grant is not an object")
        email = normalise_email(str(raw.get("email", "")))
        role = str(raw.get("role", ""))
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} for {email}")
        clinics = raw.get("clinics") or []
        if not isinstance(clinics, list):
            raise ValueError(f"clinics of {email} is not a list")
        clinics = tuple(sorted({check_clinic_id(str(c)) for c in clinics}))
        if role == CLINIC_MANAGER and not clinics:
            raise ValueError(f"{email} is a clinic_manager without a clinic")
        if role != CLINIC_MANAGER and clinics:
            raise ValueError(f"{email} has clinics but the role {role} covers every clinic")
        return cls(email, role, clinics, str(raw.get("granted_at", "")), str(raw.get("granted_by", "")))


@dataclass
class RolesStore:
    """Read and change `roles.json` in one access folder."""

    folder: Path
    _cache: tuple[tuple[int, int, int], dict[str, Grant]] | None = field(default=None, repr=False)

    @classmethod
    def default(cls, db: str | os.PathLike | None = None) -> RolesStore:
        return cls(access_dir(db))

    @property
    def path(self) -> Path:
        return self.folder / ROLES_FILE

    def exists(self) -> bool:
        return self.path.is_file()

    # ----------------------------------------------------------------------------------- reading

    def grants(self) -> dict[str, Grant]:
        """Every grant by e-mail. No file: no grant. A file that cannot be read: ConfigError."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return {}
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict) or raw.get("format") != FORMAT or not isinstance(raw.get("grants"), list):
                raise ValueError("not a roles file of format 1")
            grants = {}
            for item in raw["grants"]:
                grant = Grant.from_json(item)
                grants[grant.email] = grant
        except (OSError, ValueError, UsageError) as exc:
            raise ConfigError(f"the roles store {self.path} cannot be read ({exc}); fix or restore it") from None
        self._cache = (key, grants)
        return grants

    def get(self, email: str | None) -> Grant | None:
        if not email:
            return None
        try:
            key = normalise_email(email)
        except UsageError:
            return None
        return self.grants().get(key)

    # ----------------------------------------------------------------------------------- writing

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _write(self, grants: dict[str, Grant]) -> None:
        body = {"format": FORMAT, "grants": [grants[e].to_json() for e in sorted(grants)]}
        fd, tmp = tempfile.mkstemp(prefix=".roles-", suffix=".json", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                os.fchmod(f.fileno(), 0o600)
                json.dump(body, f, indent=1)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._cache = None

    def grant(self, email: str, role: str, clinics: Iterable[str] = (), by: str = "") -> Grant:
        """Give `email` the role (replacing any earlier grant). clinic_manager needs clinics; the
        other roles cover every clinic and take none."""
        email = normalise_email(email)
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        clinic_ids = tuple(sorted({check_clinic_id(c) for c in clinics}))
        if role == CLINIC_MANAGER and not clinic_ids:
            raise UsageError("a clinic_manager needs at least one --clinic ID")
        if role != CLINIC_MANAGER and clinic_ids:
            raise UsageError(f"--clinic applies to clinic_manager only: {role} covers every clinic")
        from pipelines.users.audit import AccessLog, cli_actor

        by = by or cli_actor()
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        new = Grant(email, role, clinic_ids, now, by)
        with self._locked():
            grants = dict(self.grants())
            grants[email] = new
            self._write(grants)
            AccessLog(self.folder).record("grant", by, target=email, role=role, clinics=list(clinic_ids) or None)
        return new

    def revoke(self, email: str, by: str = "") -> Grant | None:
        """Remove the grant of `email`; returns it (None when there was none)."""
        from pipelines.users.audit import AccessLog, cli_actor

        email = normalise_email(email)
        with self._locked():
            grants = dict(self.grants())
            old = grants.pop(email, None)
            if old is not None:
                self._write(grants)
                AccessLog(self.folder).record("revoke", by or cli_actor(), target=email, role=old.role,
                                              clinics=list(old.clinics) or None)
        return old
