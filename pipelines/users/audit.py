"""The access log: who signed in, who was refused, who opened row-level data, who exported what,
and every change of a grant. Append-only, outside the versioned warehouse.

Files: `access-log/YYYY-MM.jsonl` in the access folder (beside `roles.json`), one JSON object per
line, one file per calendar month (UTC), mode 600. A line:

    {"at": "2026-07-01T09:30:12Z", "event": "sign_in", "actor": "ana@clinic.org", "role": "board",
     "details": {"provider": "default"}, "prev": "<sha256 of the previous line of the file>"}

Each line carries the SHA-256 of the line before it (the first line of a month: of the last line of
the month before, or "" for the very first), so an edited, inserted or deleted line is found by
`python -m pipelines users audit --verify`. A line removed from the end has no successor to betray it,
so `access-log/last-line.json` records the last line written (its file, line number, time and SHA-256):
replaced atomically (a temporary file renamed over it) right after each append, under the same lock.
`verify` checks that this line is still there, unchanged; and an append takes its `prev` from that
record, not from whatever the file ends with, so a removal is not hidden by the lines written after it
(the chain breaks where they join). Lines are appended under an exclusive lock with one write each;
nothing in the product rewrites or deletes them (retention: docs/access.md).

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
LAST_LINE_FILE = "last-line.json"  # in LOG_DIR: the last line written (see the module's docstring)

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


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 16), b""))
    except FileNotFoundError:
        return 0


@dataclass
class AccessLog:
    folder: Path  # the access folder (the log lives in folder/access-log/)

    @property
    def log_dir(self) -> Path:
        return self.folder / LOG_DIR

    @property
    def last_line_path(self) -> Path:
        return self.log_dir / LAST_LINE_FILE

    def files(self) -> list[Path]:
        if not self.log_dir.is_dir():
            return []
        return sorted(p for p in self.log_dir.iterdir() if re.fullmatch(r"\d{4}-\d{2}\.jsonl", p.name))

    def last_written(self) -> dict | None:
        """The record of the last line written ({"file", "line", "at", "sha256"}), None when there is
        none; AuditError when it is not one."""
        try:
            data = json.loads(self.last_line_path.read_bytes())
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AuditError(f"{self.last_line_path} cannot be read ({exc.strerror or exc})") from None
        except ValueError:
            data = None
        if not (isinstance(data, dict) and isinstance(data.get("file"), str) and isinstance(data.get("sha256"), str)
                and isinstance(data.get("line"), int) and not isinstance(data.get("line"), bool)):
            raise AuditError(f"{self.last_line_path} is damaged: it does not say which line was written last")
        return data

    def _previous(self, path: Path) -> tuple[str, int]:
        """Under the lock: (the `prev` of a line appended to `path`, the line number it will have)."""
        try:
            last = self.last_written()
        except AuditError:  # damaged (verify says so until now): start a new record rather than refuse to log
            last = None
        actual = _last_line(path)
        earlier = [p for p in self.files() if p.name < path.name]
        if actual is None and earlier:  # the first line of a month follows the last of the month before
            actual = _last_line(earlier[-1])
        actual_digest = _digest(actual) if actual else ""
        if last is not None and actual_digest == last["sha256"]:
            number = last["line"] + 1 if last["file"] == path.name else 1
            return actual_digest, number
        number = _count_lines(path) + 1
        if last is None:  # the very first line, or a log written before the record existed
            return actual_digest, number
        if self._chained_after(last):  # appends whose record was not written (a crash between the two writes)
            return actual_digest, number
        # The last line written is gone or changed: chain to it anyway, so the removal stays visible (the
        # chain breaks at this line) instead of being covered by the lines that follow.
        return last["sha256"], number

    def _chained_after(self, last: dict) -> bool:
        """True when the recorded line is where the record says and every line after it is chained to
        the one before (what an append leaves when the process dies before it writes the record)."""
        previous: bytes | None = None
        for path, number, line in self._lines():
            if previous is None:
                if path.name == last["file"] and number == last["line"]:
                    if _digest(line) != last["sha256"]:
                        return False
                    previous = line
                continue
            try:
                if json.loads(line).get("prev") != _digest(previous):
                    return False
            except (ValueError, AttributeError):
                return False
            previous = line
        return previous is not None

    def _write_last_line(self, path: Path, number: int, at: str, line: bytes) -> None:
        record = {"file": path.name, "line": number, "at": at, "sha256": _digest(line)}
        tmp = self.last_line_path.with_name(LAST_LINE_FILE + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.last_line_path)
        dir_fd = os.open(self.log_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

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
                entry["prev"], number = self._previous(path)
                line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                self._write_last_line(path, number, entry["at"], line)
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
        """Problems found in the chain of hashes and at its end (an empty list: every line after the
        oldest is as written, and the last line written is still the last of the chain or followed only
        by lines chained to it)."""
        problems = []
        damaged = False
        try:  # read before the lines: a line appended meanwhile comes after the one recorded, never before
            last = self.last_written()
        except AuditError as exc:
            last, damaged = None, True
            problems.append(f"{exc}; whether lines were removed from the end cannot be checked")
        recorded: bytes | None = None
        any_line = False
        previous: bytes | None = None
        for path, number, line in self._lines():
            any_line = True
            if last is not None and path.name == last["file"] and number == last["line"]:
                recorded = line
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
        if last is not None and (recorded is None or _digest(recorded) != last["sha256"]):
            problems.append(f"{_clean_text(last['file'])} line {last['line']} (written "
                            f"{_clean_text(last.get('at', '?'))}), the last line "
                            "written, is not there or was changed: lines were removed from the end of the log, "
                            "or edited")
        elif last is None and any_line and not damaged:
            problems.append(f"{LOG_DIR}/{LAST_LINE_FILE} is missing: whether lines were removed from the end "
                            "cannot be checked (a log from before this check gets it with its next line)")
        return problems
