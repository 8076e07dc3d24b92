"""What a load tells its caller: per file counts and status, in the contract's JSON shape."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field


@dataclass
class FileReport:
    file: str
    kind: str | None
    status: str  # loaded | rejected | already_loaded | skipped
    rows_read: int = 0
    loaded: int = 0
    quarantined: int = 0
    duplicates: int = 0
    replaced: int = 0
    reason: str | None = None
    dropped_identifier_columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    sha256: str | None = None
    bytes: int | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        data = asdict(self)
        data["top_reasons"] = [{"reason": r, "rows": n} for r, n in self.top_reasons]
        data.pop("sha256")
        data.pop("bytes")
        data["seconds"] = round(self.seconds, 3)
        return data

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.loaded + self.quarantined + self.duplicates


@dataclass
class LoadReport:
    batch: str
    files: list[FileReport] = field(default_factory=list)
    load_id: int | None = None
    warehouse_version: int | None = None
    published: bool = False
    orphans_retried: int = 0
    orphans_resolved: int = 0
    message: str | None = None
    model_seconds: float = 0.0

    @property
    def rejected(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "rejected"]

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected else 0

    def to_json(self) -> dict:
        return {
            "batch": self.batch,
            "files": [f.to_json() for f in self.files],
            "warehouse_version": self.warehouse_version,
            "published": self.published,
            "orphans": {"retried": self.orphans_retried, "loaded": self.orphans_resolved},
            "message": self.message,
        }

    def to_text(self) -> str:
        lines = [f"batch {self.batch}"]
        for f in self.files:
            head = f"  {f.file:<36} {f.kind or '-':<13} {f.status}"
            if f.status in ("loaded", "rejected"):
                head += (f"  read {f.rows_read:,} = loaded {f.loaded:,} + quarantined {f.quarantined:,}"
                         f" + duplicates {f.duplicates:,}; replaced {f.replaced:,}")
            lines.append(head)
            if f.reason:
                lines.append(f"      reason: {f.reason}")
            for reason, n in f.top_reasons[:5]:
                lines.append(f"      {n:>7,} x {reason}")
            if f.dropped_identifier_columns:
                lines.append("      identifier columns dropped, never stored: " + ", ".join(f.dropped_identifier_columns))
            if f.ignored_columns:
                lines.append("      columns not in the contract, ignored: " + ", ".join(f.ignored_columns))
        if self.orphans_retried:
            lines.append(f"  quarantined orphans retried: {self.orphans_retried:,}, now loaded: {self.orphans_resolved:,}")
        if self.message:
            lines.append(f"  {self.message}")
        totals = Counter()
        for f in self.files:
            totals[f.status] += 1
        lines.append("  " + ", ".join(f"{n} {s}" for s, n in sorted(totals.items())) if totals else "  no files")
        return "\n".join(printable(line) for line in lines)


def printable(text: str) -> str:
    """Text for a terminal: a control character in a file name (a newline, an escape sequence) is
    shown as its code, so a name can neither fake a report line nor drive the terminal."""
    return "".join(c if c.isprintable() else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
                   for c in text)
