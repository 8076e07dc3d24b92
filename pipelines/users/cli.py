"""`python -m pipelines users grant|revoke|list|audit`: the roles store and the access log.

    users grant EMAIL --role ROLE [--clinic ID]...   give or change a grant (clinic_manager needs --clinic)
    users revoke EMAIL                                remove a grant
    users list [--format text|json]                   every grant
    users audit [--since WHEN] [--until WHEN] [--user EMAIL] [--event EVENT] [--format text|json] [--verify]

Every command takes `--db PATH` (the warehouse pointer; the access folder is `access/` beside it
unless CLINIC_ANALYTICS_ACCESS_DIR is set). Bad input is a UsageError: one line, exit status 2.
"""

from __future__ import annotations

import argparse


def _when(text: str):
    import datetime as dt

    raw = text.strip()
    try:
        if len(raw) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(raw), dt.time())
        value = dt.datetime.fromisoformat(raw.rstrip("Z"))
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM)") from None


def add_parser(sub) -> None:
    from pipelines.users.audit import EVENTS
    from pipelines.users.store import ROLES

    users = sub.add_parser("users", help="who may open the app (roles and clinics) and the access log")
    actions = users.add_subparsers(dest="action", parser_class=type(users), required=True, metavar="ACTION")
    db_help = "warehouse path (default $CLINIC_ANALYTICS_DB or warehouse/clinic_analytics.duckdb); " \
              "the roles store is access/ beside it unless $CLINIC_ANALYTICS_ACCESS_DIR is set"

    grant = actions.add_parser("grant", help="give EMAIL a role (replaces an earlier grant)")
    grant.add_argument("email", metavar="EMAIL")
    grant.add_argument("--role", required=True, choices=ROLES)
    grant.add_argument("--clinic", action="append", default=[], metavar="ID", dest="clinics",
                       help="a clinic of a clinic_manager (repeatable; required for that role, refused for the others)")
    grant.add_argument("--db", metavar="PATH", help=db_help)
    grant.set_defaults(run=run_grant)

    revoke = actions.add_parser("revoke", help="remove the grant of EMAIL")
    revoke.add_argument("email", metavar="EMAIL")
    revoke.add_argument("--db", metavar="PATH", help=db_help)
    revoke.set_defaults(run=run_revoke)

    listing = actions.add_parser("list", help="every grant")
    listing.add_argument("--format", choices=["text", "json"], default="text")
    listing.add_argument("--db", metavar="PATH", help=db_help)
    listing.set_defaults(run=run_list)

    audit = actions.add_parser("audit", help="the access log: sign-ins, refusals, row-level views, exports, grants")
    audit.add_argument("--since", type=_when, metavar="WHEN", help="from this UTC date or time (inclusive)")
    audit.add_argument("--until", type=_when, metavar="WHEN", help="up to this UTC date or time (exclusive)")
    audit.add_argument("--user", metavar="EMAIL", help="one person's events")
    audit.add_argument("--event", choices=sorted(EVENTS), help="one kind of event")
    audit.add_argument("--format", choices=["text", "json"], default="text")
    audit.add_argument("--verify", action="store_true",
                       help="check the chain of hashes instead of listing (exit 1 when a line was changed)")
    audit.add_argument("--db", metavar="PATH", help=db_help)
    audit.set_defaults(run=run_audit)


def _known_clinics(db) -> list[str] | None:
    """Clinic ids of the published warehouse (None when nothing is published yet)."""
    import duckdb

    from pipelines import config
    from pipelines.warehouse.publish import resolve_version

    path = resolve_version(config.db_path(db))
    if path is None:
        return None
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [r[0] for r in con.execute("select distinct clinic_id from staging.stg_clinics order by 1").fetchall()]
    finally:
        con.close()


def run_grant(args) -> int:
    from pipelines.errors import UsageError
    from pipelines.users.audit import cli_actor
    from pipelines.users.store import RolesStore, check_clinic_id

    clinics = [check_clinic_id(c) for c in args.clinics]
    known = _known_clinics(args.db) if clinics else None
    if known is not None:
        unknown = [c for c in clinics if c not in known]
        if unknown:
            raise UsageError(f"unknown clinic {', '.join(unknown)}: the warehouse has {', '.join(known) or 'no clinic'}")
    store = RolesStore.default(args.db)
    before = store.get(args.email)
    grant = store.grant(args.email, args.role, clinics, by=cli_actor())  # the store logs it
    change = "changed" if before else "granted"
    where = f" for {', '.join(grant.clinics)}" if grant.clinics else ""
    print(f"{change}: {grant.email} is {grant.role}{where}")
    if known is None and clinics:
        print("note: no warehouse is published yet, so the clinic ids were not checked")
    return 0


def run_revoke(args) -> int:
    from pipelines.errors import UsageError
    from pipelines.users.audit import cli_actor
    from pipelines.users.store import RolesStore

    store = RolesStore.default(args.db)
    old = store.revoke(args.email, by=cli_actor())  # the store logs it
    if old is None:
        raise UsageError(f"{args.email.strip().lower()} has no grant")
    print(f"revoked: {old.email} ({old.role}) can no longer open the app")
    return 0


def run_list(args) -> int:
    import json

    from pipelines.users.store import RolesStore

    store = RolesStore.default(args.db)
    grants = [store.grants()[e] for e in sorted(store.grants())]
    if args.format == "json":
        print(json.dumps({"roles_store": str(store.path), "grants": [g.to_json() for g in grants]}))
        return 0
    if not grants:
        print(f"no grants in {store.path}")
        return 0
    width = max(len(g.email) for g in grants)
    for g in grants:
        clinics = ", ".join(g.clinics) if g.clinics else "all clinics"
        print(f"{g.email:<{width}}  {g.role:<16}  {clinics:<20}  granted {g.granted_at} by {g.granted_by}")
    return 0


def run_audit(args) -> int:
    import json

    from pipelines.users.audit import AccessLog
    from pipelines.users.store import RolesStore, normalise_email

    log = AccessLog(RolesStore.default(args.db).folder)
    if args.verify:
        problems = log.verify()
        for problem in problems:
            print(problem)
        print(f"{len(log.files())} file(s) checked: " + ("every line is as written" if not problems else f"{len(problems)} problem(s)"))
        return 1 if problems else 0
    actor = normalise_email(args.user) if args.user else None
    events = log.read(since=args.since, until=args.until, actor=actor, event=args.event)
    if args.format == "json":
        print(json.dumps({"access_log": str(log.log_dir), "events": events}))
        return 0
    if not events:
        print("no event")
        return 0
    for e in events:
        details = ", ".join(f"{k}={','.join(v) if isinstance(v, list) else v}" for k, v in e.get("details", {}).items())
        role = f" ({e['role']})" if e.get("role") else ""
        print(f"{e['at']}  {e['event']:<15}  {e['actor']}{role}  {details}")
    return 0
