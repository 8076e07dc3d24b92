"""Keyed-hash pseudonymization of patient_ref (HMAC-SHA256).

The key is configuration, never in the repository:
- $CLINIC_ANALYTICS_PSEUDONYM_KEY holds the key itself (at least 32 characters), or
- the key file ($CLINIC_ANALYTICS_KEY_FILE, default ~/.config/clinic-analytics/pseudonymization.key)
  holds it; when that file does not exist, a random 256-bit key is generated into it, readable only
  by its owner (mode 600, folder 700).
The warehouse stores a fingerprint of the key (an HMAC of a fixed text, not the key) and refuses a
load with a different key, which would otherwise split every patient in two.

The hash is computed inside DuckDB (sha256 of the standard HMAC inner and outer pads), so the raw
reference is never materialized in any table; the pads are passed as query parameters.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from pipelines import config
from pipelines.errors import KeyProblem

_BLOCK = 64  # SHA-256 block size
_FINGERPRINT_TEXT = b"clinic-analytics key fingerprint v1"


class Pseudonymizer:
    def __init__(self, key: bytes):
        if len(key) < 16:
            raise KeyProblem("the pseudonymization key is shorter than 16 bytes")
        block = hashlib.sha256(key).digest() if len(key) > _BLOCK else key
        block = block.ljust(_BLOCK, b"\0")
        self._key = key
        self._inner = bytes(b ^ 0x36 for b in block)
        self._outer = bytes(b ^ 0x5C for b in block)

    def __call__(self, ref: str) -> str:
        return hmac.new(self._key, ref.strip().encode("utf-8"), hashlib.sha256).hexdigest()

    def fingerprint(self) -> str:
        return hmac.new(self._key, _FINGERPRINT_TEXT, hashlib.sha256).hexdigest()[:16]

    def sql(self, text_expr: str) -> str:
        """SQL computing the same HMAC as __call__ for a (trimmed) text expression.

        The key material travels only as the named parameters in `params()`, never in SQL text,
        so no error message or query log can show it.
        """
        return f"sha256($hmac_outer || unhex(sha256($hmac_inner || encode({text_expr}))))"

    def params(self) -> dict[str, bytes]:
        return {"hmac_outer": self._outer, "hmac_inner": self._inner}


def load_key(may_create: bool = True) -> bytes:
    """The key from the environment, else from the key file; a missing file is created with a new key
    only when `may_create` (a warehouse already built with some key must not get a new one)."""
    env = os.environ.get(config.ENV_KEY)
    if env:
        if len(env) < 32:
            raise KeyProblem(f"{config.ENV_KEY} must be at least 32 characters long")
        return env.encode("utf-8")
    path = config.key_file_path()
    if path.is_dir():
        raise KeyProblem(f"the key file {path} is a folder; point {config.ENV_KEY_FILE} at the key's file")
    if not path.exists():
        if not may_create:
            raise KeyProblem(
                f"there is no key file at {path}, and the warehouse was pseudonymized with a key: set "
                f"{config.ENV_KEY_FILE} to the file that key is in (no new key was made)")
        return _generate(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyProblem(f"the key file {path} can be read by others; run: chmod 600 {path}")
    key = path.read_bytes().strip()
    if len(key) < 32:
        raise KeyProblem(f"the key file {path} holds fewer than 32 characters")
    return key


def _generate(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_hex(32).encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


def default_pseudonymizer(may_create: bool = True) -> Pseudonymizer:
    return Pseudonymizer(load_key(may_create))
