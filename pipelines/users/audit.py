"""The access log: who signed in, who was refused, who opened row-level data, who exported what,
and every change of a grant. Append-only, outside the versioned warehouse.

Files: `access-log/YYYY-MM.jsonl` in the access folder (beside `roles.json`), one JSON object per
line, one file per calendar month (UTC), mode 600. A line:

    {"at": "2026-07-01T09:30:12Z", "event": "sign_in", "actor": "ana@clinic.org", "role": "board",
     "details": {"provider": "default"}, "prev": "<sha256 of the previous line of the file>"}

Each line carries the SHA-256 of the line before it (the first line of a month: of the last line of
the month before, or "" for the very first), so an edited or deleted line is found by
`python -m pipelines users audit --verify`. Lines are appended under an exclusive lock with one
write each; nothing in the product rewrites or deletes them (retention: docs/access.md).

What is logged is who, what and when, never a patient identifier: details are restricted to the
keys below, values to short text, numbers, booleans and lists of short text; free text a person
typed (a search) is never written, only whether there was one.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import PipelineError

LOG_DIR = "access-log"
LOCK_FILE = "access-log.lock"

EVENTS = {
    "sign_in": "a signed-in person opened the app (new browser session)",
    "sign_out": "signed out",
    "no_access": "signed in, but has no grant",
    "sign_in_refused": "signed in, but the identity cannot be used (no or unverified e-mail, sign-in too old)",
    "view_row_level": "opened row-level extract data (quarantined rows with their values)",
    "export": "downloaded a chart, table or board pack",
    "grant": "a grant was given or changed",
    "revoke": "a grant was removed",
    "scenario_saved": "saved a planning scenario others can load (new, or replacing one of the same name)",
    "scenario_deleted": "deleted a saved planning scenario",
}
DETAIL_KEYS = {
    "provider", "page", "what", "chart", "format", "rows", "kind", "search_given", "open_only", "clinics",
    "start", "end", "modalities", "indications", "sections", "role", "target", "reason", "options", "file",
    "period", "selection",
}
MAX_TEXT = 200
MAX_LIST = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AuditError(PipelineError):
    """The access log cannot be written or read."""


def _clean_text(value: object) -> str:
    text = _CONTROL.sub(" ", str(value))
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _clean(value: object) -> object:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return [_clean_text(v) for v in items[:MAX_LIST]] + (["…"] if len(items) > MAX_LIST else [])
    return _clean_text(value)


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name (a container without passwd entry)
        return f"cli:uid{os.getuid()}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _stamp(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat() + "Z"


def _digest(line: bytes) -> str:
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


def _last_line(path: Path) -> bytes | None:
    """The last complete line of a file, read from its end."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            if size == 0:
                return None
            block = b""
            pos = size
            while pos > 0:
                step = min(4096, pos)
                pos -= step
                f.seek(pos)
                block = f.read(step) + block
                stripped = block.rstrip(b"\n")
                if b"\n" in stripped:
                    return stripped.rsplit(b"\n", 1)[1]
            return block.rstrip(b"\n") or None
    except FileNotFoundError:
        return None


@dataclass
class AccessLog:
    folder: Path  # the access folder (the log lives in folder/access-log/)

    @property
    def log_dir(self) -> Path:
        return self.folder / LOG_DIR

    def files(self) -> list[Path]:
        if not self.log_dir.is_dir():
            return []
        return sorted(p for p in self.log_dir.iterdir() if re.fullmatch(r"\d{4}-\d{2}\.jsonl", p.name))

    def record(self, event: str, actor: str, role: str | None = None, at: dt.datetime | None = None,
               **details: object) -> dict:
        """Append one event. Raises AuditError when it cannot be written (callers fail closed)."""
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        unknown = set(details) - DETAIL_KEYS
        if unknown:
            raise ValueError(f"audit details not allowed: {sorted(unknown)}")
        moment = at or _now()
        entry = {
            "at": _stamp(moment),
            "event": event,
            "actor": _clean_text(actor or "unknown"),
            "role": _clean_text(role) if role else None,
            "details": {k: _clean(v) for k, v in sorted(details.items()) if v is not None},
        }
        path = self.log_dir / f"{moment:%Y-%m}.jsonl"
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.log_dir.mkdir(exist_ok=True, mode=0o700)
            lock = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                previous = _last_line(path)
                if previous is None:
                    earlier = [p for p in self.files() if p.name < path.name]
                    previous = _last_line(earlier[-1]) if earlier else None
                entry["prev"] = _digest(previous) if previous else ""
                line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
                os.close(lock)
        except OSError as exc:
            raise AuditError(f"the access log in {self.log_dir} cannot be written ({exc.strerror or exc})") from None
        return entry

    def _lines(self) -> Iterator[tuple[Path, int, bytes]]:
        for path in self.files():
            try:
                with open(path, "rb") as f:
                    for number, line in enumerate(f, start=1):
                        if line.strip():
                            yield path, number, line
            except OSError as exc:
                raise AuditError(f"{path} cannot be read ({exc.strerror or exc})") from None

    def read(self, since: dt.datetime | None = None, until: dt.datetime | None = None,
             actor: str | None = None, event: str | None = None, limit: int | None = None) -> list[dict]:
        """Events in time order (since inclusive, until exclusive; naive UTC), optionally of one actor
        or event; `limit` keeps the newest."""
        out = []
        for path, number, line in self._lines():
            try:
                entry = json.loads(line)
            except ValueError:
                raise AuditError(f"{path.name} line {number} is not JSON: the log was damaged (see --verify)") from None
            when = dt.datetime.fromisoformat(str(entry.get("at", "")).rstrip("Z"))
            if since is not None and when < since or until is not None and when >= until:
                continue
            if actor is not None and entry.get("actor") != actor:
                continue
            if event is not None and entry.get("event") != event:
                continue
            out.append(entry)
        return out[-limit:] if limit else out

    def verify(self) -> list[str]:
        """Problems found in the chain of hashes (an empty list: every line after the oldest is as written)."""
        problems = []
        previous: bytes | None = None
        for path, number, line in self._lines():
            try:
                entry = json.loads(line)
            except ValueError:
                problems.append(f"{path.name} line {number}: not JSON")
                previous = line
                continue
            # The oldest line kept is not checked: months older than the retention may have been removed.
            if previous is not None and entry.get("prev") != _digest(previous):
                problems.append(f"{path.name} line {number}: does not follow the line before it "
                                "(a line was edited, removed or inserted)")
            previous = line
        return problems
