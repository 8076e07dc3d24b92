"""Who is looking, and what they may see: sign-in (Streamlit's st.login, OpenID Connect), the grant
from the roles store, the viewer's Scope, the pages of each role, demo mode and the access log.

The entry point calls `gate()` before `st.navigation`: it returns the signed-in, granted viewer,
or draws one screen (sign in, no access, demo refused, configuration problem) and stops the run.
`dashboard.ui.viewer_scope()` reads the Scope from here; every query takes it, so what a role may
see is enforced in the query layer, and the navigation offers only the role's pages.

| role | clinics | pages | Scope |
|---|---|---|---|
| medical_director | all | every page, quarantined row values, the access log | clinics=None |
| operations | all | Overview, Outcomes, Boosters, Capacity, Planning, Data quality (no row values) | clinics=None, row_level=False |
| clinic_manager | their own | Overview, Outcomes, Safety, Boosters, Capacity, Planning | clinics={...}, row_level=False |
| board | all | Overview, Outcomes, Safety, Boosters, Capacity, Board pack (aggregated, suppressed) | aggregates_only=True, row_level=False |

Demo mode (no `[auth]` section in secrets): every page but the access log, on the bundled sample
only, on a loopback address only; anything else is refused with one screen that says how to
configure sign-in (docs/access.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import ipaddress
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from dashboard.scope import Scope
from pipelines import config
from pipelines.errors import ConfigError
from pipelines.users.audit import AccessLog, AuditError
from pipelines.users.store import BOARD, CLINIC_MANAGER, MEDICAL_DIRECTOR, OPERATIONS, RolesStore, normalise_email

ENV_SIGNIN_MAX_HOURS = "CLINIC_ANALYTICS_SIGNIN_MAX_HOURS"
ENV_ACCESS_CONTACT = "CLINIC_ANALYTICS_ACCESS_CONTACT"
DEFAULT_SIGNIN_MAX_HOURS = 12
DEMO = "demo"

# Page keys of the entry point's PAGES. None: every page, including pages added later.
ROLE_PAGES: dict[str, tuple[str, ...] | None] = {
    MEDICAL_DIRECTOR: None,
    OPERATIONS: ("overview", "outcomes", "boosters", "capacity", "planning", "data_quality"),
    CLINIC_MANAGER: ("overview", "outcomes", "safety", "boosters", "capacity", "planning"),
    BOARD: ("overview", "outcomes", "safety", "boosters", "capacity", "board_pack"),
}
DEMO_HIDDEN_PAGES = ("access_log",)  # nobody signs in, so there is no one to show it to
ROLE_LABELS = {
    MEDICAL_DIRECTOR: "Medical director", OPERATIONS: "Operations", CLINIC_MANAGER: "Clinic manager",
    BOARD: "Board", DEMO: "Demo (no sign-in)",
}

K_VIEWER = "_access_viewer"
K_LOGGED = "_access_logged"  # what this browser session already wrote to the access log
K_SEARCHES = "_access_searches"  # the row-level searches of this browser session, numbered (never logged)

_REQUIRED_SHARED = ("redirect_uri", "cookie_secret")
_REQUIRED_PROVIDER = ("client_id", "client_secret", "server_metadata_url")


# ------------------------------------------------------------------------------------------ viewer


@dataclass(frozen=True)
class Viewer:
    email: str | None
    role: str  # a role of the roles store, or "demo"
    clinics: tuple[str, ...] = ()  # clinic_manager only
    signed_in_at: float | None = field(default=None, compare=False)  # the identity token's issue time (iat)

    @property
    def demo(self) -> bool:
        return self.role == DEMO

    @property
    def scope(self) -> Scope:
        return scope_for(self.role, self.clinics)

    def may_open(self, page_key: str) -> bool:
        if self.demo:
            return page_key not in DEMO_HIDDEN_PAGES
        allowed = ROLE_PAGES.get(self.role, ())
        return allowed is None or page_key in allowed


def scope_for(role: str, clinics: tuple[str, ...] = ()) -> Scope:
    """The Scope of a role (an unknown role sees nothing)."""
    if role == DEMO:
        return Scope.everything()
    if role == MEDICAL_DIRECTOR:
        return Scope(clinics=None, aggregates_only=False, name=role, row_level=True)
    if role == OPERATIONS:
        return Scope(clinics=None, aggregates_only=False, name=role, row_level=False)
    if role == CLINIC_MANAGER and clinics:
        return Scope(clinics=frozenset(clinics), aggregates_only=False, name=role, row_level=False)
    if role == BOARD:
        return Scope(clinics=None, aggregates_only=True, name=role, row_level=False)
    return nobody()


def nobody() -> Scope:
    """Selects nothing: the scope of anyone not (or no longer) allowed in."""
    return Scope(clinics=frozenset(), aggregates_only=True, name="nobody", row_level=False)


def current_viewer() -> Viewer | None:
    viewer = st.session_state.get(K_VIEWER)
    return viewer if isinstance(viewer, Viewer) else None


def current_scope() -> Scope:
    """The viewer's Scope for this run; a page run without the gate (or a refused viewer) sees nothing."""
    viewer = current_viewer()
    if viewer is None:
        return nobody()
    if viewer.demo and demo_refusal() is not None:  # the warehouse changed under a demo server
        return nobody()
    return viewer.scope


def pages_for(viewer: Viewer, pages: Mapping[str, object]) -> list:
    """The entry point's pages (key -> st.Page) this viewer may open, in order."""
    return [page for key, page in pages.items() if viewer.may_open(key)]


# ------------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class AuthConfig:
    configured: bool  # an [auth] section exists (then demo mode is off, whatever else is wrong)
    providers: tuple[str | None, ...] = ()  # None: the unnamed provider of [auth] itself
    problem: str | None = None


def _secrets_auth() -> Mapping | None:
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets.toml at all (StreamlitSecretNotFoundError) or an unreadable one
        return None
    return section if isinstance(section, Mapping) else None


def auth_config() -> AuthConfig:
    section = _secrets_auth()
    if section is None:
        return AuthConfig(False)
    missing = [k for k in _REQUIRED_SHARED if not section.get(k)]
    providers: list[str | None] = []
    if all(section.get(k) for k in _REQUIRED_PROVIDER):
        providers.append(None)
    for name, value in section.items():
        if isinstance(value, Mapping) and all(value.get(k) for k in _REQUIRED_PROVIDER):
            providers.append(str(name))
    if missing:
        return AuthConfig(True, tuple(providers), f"[auth] in secrets.toml lacks {', '.join(missing)}")
    if not providers:
        return AuthConfig(True, (), "[auth] in secrets.toml names no provider with client_id, client_secret "
                                    "and server_metadata_url")
    return AuthConfig(True, tuple(providers))


def signin_max_age() -> dt.timedelta:
    raw = os.environ.get(ENV_SIGNIN_MAX_HOURS, "").strip()
    try:
        hours = float(raw) if raw else DEFAULT_SIGNIN_MAX_HOURS
    except ValueError:
        hours = DEFAULT_SIGNIN_MAX_HOURS
    return dt.timedelta(hours=hours if hours > 0 else DEFAULT_SIGNIN_MAX_HOURS)


def access_contact() -> str:
    contact = os.environ.get(ENV_ACCESS_CONTACT, "").strip()
    return contact[:200] if contact else "your medical director or whoever administers this app"


def roles_store() -> RolesStore:
    return RolesStore.default()


def access_log() -> AccessLog:
    return AccessLog(roles_store().folder)


# --------------------------------------------------------------------------------------- demo mode


def _server_address() -> str | None:
    from streamlit import config as st_config

    return st_config.get_option("server.address")


def _is_loopback(address: object) -> bool:
    text = str(address or "").strip().strip("[]")
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def sample_files() -> dict[str, str]:
    """sha256 -> name of every file of the bundled data_samples/."""
    entries = []
    for path in sorted(config.SAMPLE_DIR.iterdir()) if config.SAMPLE_DIR.is_dir() else []:
        if path.is_file():
            stat = path.stat()
            entries.append((str(path), stat.st_size, stat.st_mtime_ns))
    return _hash_files(tuple(entries))


@functools.lru_cache(maxsize=4)
def _hash_files(entries: tuple[tuple[str, int, int], ...]) -> dict[str, str]:
    out = {}
    for name, _size, _mtime in entries:
        digest = hashlib.sha256()
        with open(name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        out[digest.hexdigest()] = Path(name).name
    return out


@functools.lru_cache(maxsize=16)
def _loaded_files(version_path: str, inode: int, mtime_ns: int) -> tuple[tuple[str, str, str | None], ...]:
    import duckdb

    con = duckdb.connect(version_path, read_only=True)
    try:
        rows = con.execute("select file, status, sha256 from audit.files order by load_id, file").fetchall()
    finally:
        con.close()
    return tuple((str(f), str(s), h) for f, s, h in rows)


def foreign_files(version_path: str | os.PathLike | None) -> list[str]:
    """Files loaded into this warehouse version that are not byte for byte a file of data_samples/
    (skipped files were never read and do not count). Empty: built from the bundled sample only."""
    if version_path is None:
        return []
    stat = os.stat(version_path)
    sample = sample_files()
    return [name for name, status, digest in _loaded_files(str(version_path), stat.st_ino, stat.st_mtime_ns)
            if status != "skipped" and (digest is None or digest not in sample)]


def demo_refusal() -> str | None:
    """Why demo mode may not serve this server and warehouse (None: it may)."""
    from dashboard import queries

    address = _server_address()
    if not _is_loopback(address):
        return "address"
    try:
        path = queries.current_version_path()
        if path is not None and foreign_files(path):
            return "data"
    except Exception:  # a warehouse we cannot even inspect is not the sample
        return "data"
    return None


# --------------------------------------------------------------------------------------- audit


def _log_once(key: tuple, event: str, actor: str, role: str | None, **details) -> None:
    """Append to the access log unless this browser session already logged the same thing."""
    logged = st.session_state.setdefault(K_LOGGED, set())
    if key in logged:
        return
    access_log().record(event, actor, role, **details)
    logged.add(key)


def search_selection(search: str | None) -> str:
    """A search as the quarantine query applies it (trimmed, at most 100 characters, case ignored): two texts
    that select the same rows are the same selection."""
    return (search or "").strip()[:100].lower()


def record_row_level_view(what: str, search: str | None = None, **details) -> None:
    """Call before showing row-level data (quarantined rows' values). Logged once per session and
    selection, the search text included; raises AuditError when the log cannot be written (then do not
    show the rows).

    A search is part of the selection, but what was typed is never written to the log (it can be a
    session id, a name, a record number): the entry says whether there was a search and which search of
    the browser session it was ("search 2 of the session": the same text gives the same number)."""
    viewer = current_viewer()
    if viewer is None or viewer.demo:
        return
    text = search_selection(search) if search is not None else None
    if search is not None:
        details["search_given"] = bool(text)
    if text:
        numbers = st.session_state.setdefault(K_SEARCHES, {})  # search text -> its number, this session only
        details["selection"] = f"search {numbers.setdefault(text, len(numbers) + 1)} of the session"
    _log_once(("view_row_level", what, text, tuple(sorted(details.items()))), "view_row_level", viewer.email or "",
              viewer.role, what=what, **details)


def row_level_view_allowed(what: str, search: str | None = None, **details) -> bool:
    """Record a view of row-level data; False (with a message on the page) when the access log
    cannot be written, and then the rows must not be shown."""
    try:
        record_row_level_view(what, search, **details)
    except AuditError as exc:
        st.error(f"These rows are not shown: {exc}. Row-level data is only shown when the access log can "
                 "record it.", icon=":material/lock:")
        return False
    return True


class AccessWithdrawn(Exception):
    """The viewer a page was drawn for may no longer have what it offers (a download clicked later)."""


def check_still_allowed(viewer: Viewer | None) -> None:
    """Raise AccessWithdrawn unless `viewer` (read when the page was drawn) may still be served: the grant in the
    roles store is still the same role and clinics, and the sign-in is not older than the limit (the checks
    of gate()). For work done after the run, such as a download's data callable, which Streamlit runs when the
    button is clicked, in a thread without the session: it reads no session state. Demo mode has no grant."""
    if viewer is None:
        raise AccessWithdrawn("nobody is signed in")
    if viewer.demo:
        return
    issued = viewer.signed_in_at
    if issued is None or time.time() - issued > signin_max_age().total_seconds():
        raise AccessWithdrawn("the sign-in is older than the limit; sign in again")
    try:
        grant = roles_store().get(viewer.email)
    except ConfigError as exc:
        raise AccessWithdrawn(f"access cannot be checked ({exc})") from None
    if grant is None or grant.role != viewer.role or tuple(grant.clinics) != tuple(viewer.clinics):
        raise AccessWithdrawn("access was withdrawn or changed since the page was drawn; reload the page")


def record_export(what: str, viewer: Viewer | None = None, **details) -> None:
    """Call when a chart, table or board pack is handed out (e.g. in the data callable of a
    st.download_button, which runs outside the script thread: pass the viewer read during the run).
    Every call is logged. Raises AuditError when it cannot be written (then hand nothing out)."""
    _record("export", viewer, what=what, **details)


def record_change(event: str, **details) -> None:
    """Call after a signed-in person changed what others see (a saved planning scenario). Every call
    is logged. Raises AuditError when it cannot be written."""
    _record(event, None, **details)


def _record(event: str, viewer: Viewer | None, **details) -> None:
    viewer = viewer or current_viewer()
    if viewer is None or viewer.demo:
        return
    access_log().record(event, viewer.email or "", viewer.role, **details)


# ------------------------------------------------------------------------------------------ screens


def _signin_screen(cfg: AuthConfig, network: str, reason: str | None = None) -> None:
    from dashboard.ui import md_escape

    st.title(f"{md_escape(network)} · Clinic analytics")
    if reason:
        st.info(reason, icon=":material/schedule:")
    st.markdown("Outcomes, safety and capacity of the network's clinics. Sign in with your work account.")
    for provider in cfg.providers:
        label = "Sign in" if provider is None else f"Sign in with {provider.replace('-', ' ').title()}"
        if st.button(label, key=f"signin-{provider or 'default'}", type="primary", icon=":material/login:"):
            st.login(provider) if provider else st.login()
    st.stop()


def _sign_out_button(viewer: Viewer | None, key: str) -> None:
    if st.button("Sign out", key=key, icon=":material/logout:"):
        if viewer is not None and not viewer.demo:
            try:
                access_log().record("sign_out", viewer.email or "", viewer.role)
            except AuditError:
                pass  # signing out must always work
        st.session_state.pop(K_VIEWER, None)
        st.logout()
        st.stop()


def _refuse_demo(reason: str) -> None:
    from dashboard import queries

    st.title("Sign-in is not configured")
    if reason == "address":
        address = _server_address() or "every network interface"
        st.error(
            f"This app is set to listen on **{address}**, but sign-in is not configured. Without sign-in it "
            "only runs as a demo on this computer (127.0.0.1), so it will not serve anything.", icon=":material/lock:")
    else:
        path = queries.current_version_path()
        files = foreign_files(path) if path else []
        shown = ", ".join(f"`{f}`" for f in files[:5]) + (" …" if len(files) > 5 else "")
        st.error(
            "This warehouse holds data that is not the bundled sample" + (f" ({shown})" if shown else "") +
            ", and sign-in is not configured. Patient outcome data is only shown to people who signed in "
            "and were given a role.", icon=":material/lock:")
    st.markdown(
        "**To open it:**\n\n"
        "1. Register the app with your identity provider (Microsoft Entra ID, Google Workspace, Okta ...) "
        "as a web application with the redirect URI `https://<this host>/oauth2callback`.\n"
        "2. Copy `.streamlit/secrets.toml.example` to `.streamlit/secrets.toml` and fill in the `[auth]` "
        "section (client id, secret, metadata URL, a random cookie secret).\n"
        "3. Give people their roles: `python -m pipelines users grant EMAIL --role medical_director` "
        "(roles: medical_director, operations, clinic_manager --clinic ID, board).\n"
        "4. Restart the app.\n\n"
        "Every step is described in `docs/access.md`. To try the app without sign-in, run it on "
        "127.0.0.1 with the bundled sample: `make run`."
    )
    st.stop()


def _config_problem(problem: str) -> None:
    st.title("Sign-in is misconfigured")
    st.error(f"{problem}. Nobody can sign in until it is fixed (see `docs/access.md`).", icon=":material/build:")
    st.stop()


def _no_access(email: str, network: str) -> None:
    from dashboard.ui import md_escape

    st.title("No access yet")
    st.markdown(
        f"You are signed in as **{md_escape(email)}**, but this account has not been given access to the "
        f"clinic analytics of {md_escape(network)}.\n\n"
        f"Please ask {md_escape(access_contact())} to give you a role. They can do it with "
        "`python -m pipelines users grant` and you can then reload this page; nothing else is needed."
    )
    _sign_out_button(None, "signout-noaccess")
    st.stop()


def _store_problem(message: str) -> None:
    st.title("Access cannot be checked")
    st.error(f"{message}. Nobody can open the app until it is fixed; please tell {access_contact()}.",
             icon=":material/build:")
    st.stop()


def demo_banner() -> None:
    st.markdown(
        "<div style='background:#FFF4CE;border:1px solid #E8C547;border-radius:6px;padding:6px 12px;"
        "margin-bottom:8px;color:#3D3000'><b>Demo mode</b> · the bundled sample data (synthetic patients), "
        "no sign-in, on this computer only. Configure sign-in before loading real extracts: "
        "docs/access.md</div>",
        unsafe_allow_html=True,
    )


# --------------------------------------------------------------------------------------------- gate


def _claim_time(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def gate(network: str) -> Viewer:
    """Sign-in gate for one run: the viewer allowed in, or a screen and st.stop()."""
    cfg = auth_config()
    if not cfg.configured:
        reason = demo_refusal()
        if reason is not None:
            st.session_state.pop(K_VIEWER, None)
            _refuse_demo(reason)
        viewer = Viewer(None, DEMO)
        st.session_state[K_VIEWER] = viewer
        demo_banner()
        return viewer

    st.session_state.pop(K_VIEWER, None)  # decided afresh on every run
    if cfg.problem:
        _config_problem(cfg.problem)
    user = st.user
    if not user.get("is_logged_in"):
        _signin_screen(cfg, network)

    raw_email = str(user.get("email") or "")
    provider = str(user.get("provider") or "default")
    try:
        email = normalise_email(raw_email)
    except Exception:
        email = ""
    verified = user.get("email_verified")
    if not email or verified is False or str(verified).lower() == "false":
        _log_refusal(email or "(no e-mail)", "no verified e-mail address in the sign-in")
        st.title("Your sign-in cannot be used")
        st.markdown("Your identity provider did not confirm an e-mail address for this account, and access is "
                    f"given by e-mail address. Please ask {access_contact()}.")
        _sign_out_button(None, "signout-noemail")
        st.stop()

    issued = _claim_time(user.get("iat"))
    if issued is None or time.time() - issued > signin_max_age().total_seconds():
        _log_refusal(email, "sign-in older than the limit")
        hours = signin_max_age().total_seconds() / 3600
        _signin_screen(cfg, network, reason=f"For the patients' privacy a sign-in lasts {hours:g} hours. "
                                            "Please sign in again.")

    try:
        grant = roles_store().get(email)
    except ConfigError as exc:
        _store_problem(str(exc))
    if grant is None:
        try:
            _log_once(("no_access", email), "no_access", email, None, provider=provider)
        except AuditError as exc:
            _store_problem(str(exc))
        _no_access(email, network)

    viewer = Viewer(email, grant.role, grant.clinics, signed_in_at=issued)
    try:
        _log_once(("sign_in", email, grant.role, grant.clinics), "sign_in", email, grant.role,
                  provider=provider, clinics=list(grant.clinics) or None)
    except AuditError as exc:
        _store_problem(str(exc))
    st.session_state[K_VIEWER] = viewer
    return viewer


def _log_refusal(email: str, reason: str) -> None:
    try:
        _log_once(("refused", email, reason), "sign_in_refused", email, None, reason=reason)
    except AuditError as exc:
        _store_problem(str(exc))


def sidebar_account(viewer: Viewer) -> None:
    """Who is signed in, with which role and clinics, and the sign-out button (bottom of the sidebar)."""
    from dashboard.ui import md_escape

    with st.sidebar:
        st.divider()
        if viewer.demo:
            st.caption("Demo mode: no sign-in, bundled sample data.")
            return
        where = f" · {', '.join(viewer.clinics)}" if viewer.clinics else ""
        st.caption(f"Signed in as **{md_escape(viewer.email or '')}**  \n{ROLE_LABELS.get(viewer.role, viewer.role)}"
                   f"{md_escape(where)}")
        _sign_out_button(viewer, "signout")
