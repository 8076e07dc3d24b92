"""Helpers of the access tests: a local OpenID provider (oidc-provider-mock, in a thread of the test
process), a `streamlit run` server with sign-in configured through a secrets file of the test's own
(never .streamlit/secrets.toml), sign-in in headless Chromium, and a warehouse of one clinic only.

Everything listens on 127.0.0.1 and nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from browser import ROOT, free_port, running_app, wait_until_drawn
from pipelines import config

COOKIE_SECRET = "access-tests-cookie-secret-0123456789abcdef"  # test only


@contextlib.contextmanager
def oidc_provider(emails: list[str]) -> Iterator[str]:
    """An OpenID provider on a free loopback port; each e-mail is a one-click user on its form
    (claims: email, email_verified, name). Yields the issuer URL."""
    import logging

    import werkzeug.serving
    from oidc_provider_mock import User, app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    users = [User(sub=email, claims={"email": email, "email_verified": True, "name": email.split("@")[0].title()})
             for email in emails]
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback, tests only
    server = werkzeug.serving.make_server("127.0.0.1", 0, app(user_claims=users), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def write_secrets(path: Path, issuer: str, port: int) -> Path:
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{COOKIE_SECRET}"\n'
        'client_id = "clinic-analytics-tests"\n'
        'client_secret = "not-a-secret"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    return path


@contextlib.contextmanager
def app_server(db: str | os.PathLike, access_dir: Path, log_path: Path, secrets: Path | None = None,
               port: int | None = None, address: str = "127.0.0.1", timeout: float = 90) -> Iterator[str]:
    """`streamlit run streamlit_app.py` against `db`, with the roles store and access log in
    `access_dir` and, when given, sign-in configured by the secrets file `secrets`."""
    port = port or free_port()
    empty_secrets = access_dir.parent / "no-secrets.toml"
    if secrets is None:  # an empty secrets file: no [auth] (demo mode), whatever ~/.streamlit holds
        empty_secrets.write_text("", encoding="utf-8")
    env = {**os.environ, config.ENV_DB: str(db), "CLINIC_ANALYTICS_ACCESS_DIR": str(access_dir),
           "PYTHONUNBUFFERED": "1", "AUTHLIB_INSECURE_TRANSPORT": "1"}
    with running_app(env, log_path, port=port, address=address, timeout=timeout,
                     extra_args=("--secrets.files", str(secrets or empty_secrets))) as url:
        yield url


def sign_in(page, base_url: str, email: str, timeout_ms: float = 60_000) -> None:
    """From the app's sign-in screen through the provider's form (one click on the user) and back."""
    page.goto(base_url)
    wait_until_drawn(page, charts=False, timeout_ms=timeout_ms)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/oauth2/authorize" in url, timeout=timeout_ms)
    page.get_by_role("button", name=email, exact=True).click()
    page.wait_for_url(lambda url: url.startswith(base_url) and "oauth2callback" not in url, timeout=timeout_ms)
    wait_until_drawn(page, charts=False, timeout_ms=timeout_ms)


# ------------------------------------------------------------------------------- one-clinic world


def _read(path: Path) -> tuple[list[str], list[dict]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        # A malformed row (too many or too few fields: a --defects row) belongs to no clinic: the loader
        # quarantines it in the whole sample, so it is left out of a one-clinic world too.
        rows = [r for r in reader if None not in r and None not in r.values()]
        return list(reader.fieldnames or []), rows


def _write(path: Path, header: list[str], rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
            f.write(buffer.getvalue())
    else:
        path.write_text(buffer.getvalue(), encoding="utf-8")


def one_clinic_batch(clinic: str, out: Path) -> Path:
    """data_samples/ without any row of another clinic: the clinic's rows, its sessions and their
    children, the patients it treats or who live there, and their assessments (none of another
    clinic's sessions). What a clinic's figures would be if the other clinics did not exist."""
    out.mkdir(parents=True, exist_ok=True)
    sample = config.SAMPLE_DIR
    header, sessions = _read(sample / "sessions.csv.gz")
    kept_sessions = [r for r in sessions if r["clinic_id"].strip() == clinic]
    session_ids = {r["session_id"].strip() for r in kept_sessions}
    _write(out / "sessions.csv.gz", header, kept_sessions)
    patient_refs = {r["patient_ref"].strip() for r in kept_sessions}
    header, patients = _read(sample / "patients.csv.gz")
    kept_patients = [r for r in patients if r["clinic_id"].strip() == clinic or r["patient_ref"].strip() in patient_refs]
    patient_refs |= {r["patient_ref"].strip() for r in kept_patients}
    _write(out / "patients.csv.gz", header, kept_patients)
    header, clinics = _read(sample / "clinics.csv")
    _write(out / "clinics.csv", header, [r for r in clinics if r["clinic_id"].strip() == clinic])
    for name in ("vitals.csv.gz", "vitals-part2.csv.gz", "side_effects.csv.gz"):
        header, rows = _read(sample / name)
        _write(out / name, header, [r for r in rows if r["session_id"].strip() in session_ids])
    header, rows = _read(sample / "assessments.csv.gz")
    _write(out / "assessments.csv.gz", header,
           [r for r in rows if r["patient_ref"].strip() in patient_refs
            and (not r["session_id"].strip() or r["session_id"].strip() in session_ids)])
    return out
