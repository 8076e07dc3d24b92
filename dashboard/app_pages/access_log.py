"""Access log (medical director only): sign-ins, refusals, views of row-level data, exports, grant
changes and saved planning scenarios changed, newest first. The same as `python -m pipelines users audit`."""

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import auth, ui
from pipelines.users.audit import EVENTS, AuditError

st.title("Access log")
st.markdown(
    "<span style='color:#5B6675'>Who signed in, who was turned away, who opened row-level data or exported "
    "figures, every change of a grant and of a saved planning scenario. Append-only; "
    "`python -m pipelines users audit` shows the same.</span>",
    unsafe_allow_html=True,
)

viewer = auth.current_viewer()
if viewer is None or not viewer.may_open("access_log") or viewer.demo:
    st.info("The access log is shown to the medical director only.", icon=":material/lock:")
    st.stop()

log = auth.access_log()
c1, c2, c3 = st.columns([1, 1, 2])
days = c1.selectbox("Period", [7, 30, 90, 365, 3650], index=1, key="acl_days",
                    format_func=lambda d: "Everything" if d == 3650 else f"Last {d} days")
event = c2.selectbox("Event", [None, *EVENTS], key="acl_event",
                     format_func=lambda e: "All events" if e is None else e.replace("_", " "))
person = c3.text_input("Person (e-mail)", key="acl_person", max_chars=254, placeholder="e.g. ana@clinic.org")

since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)
try:
    events = log.read(since=since, event=event)
    problems = log.verify()
except AuditError as exc:
    st.error(str(exc), icon=":material/build:")
    st.stop()
wanted = person.strip().lower()
if wanted:
    events = [e for e in events if wanted in (e.get("actor") or "") or wanted in str(e.get("details", {}).get("target", ""))]

if problems:
    st.error(f"The log does not check out in {len(problems)} place(s): a line was edited, removed or inserted, "
             f"or its record of the last line written is missing. First: {ui.md_escape(problems[0])}",
             icon=":material/gpp_bad:")
else:
    st.caption(f"{len(log.files())} monthly file(s) in {ui.md_escape(str(log.log_dir))}; every line is as written.")

counts = pd.Series([e["event"] for e in events], dtype="object").value_counts()
cols = st.columns(4)
for column, (name, label) in zip(cols, [("sign_in", "Sign-ins"), ("no_access", "Turned away"),
                                        ("view_row_level", "Row-level views"), ("export", "Exports")], strict=True):
    ui.headline(column, label, f"{int(counts.get(name, 0)):,}")

rows = pd.DataFrame([
    {
        "at": pd.Timestamp(e["at"].rstrip("Z")),
        "event": e["event"].replace("_", " "),
        "who": e.get("actor"),
        "role": e.get("role"),
        "details": " · ".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}"
                              for k, v in (e.get("details") or {}).items()),
    }
    for e in reversed(events)
], columns=["at", "event", "who", "role", "details"])
if rows.empty:
    st.info("No event in this period.")
else:
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY, HH:mm:ss"),
        "event": "Event", "who": "Who", "role": "Role", "details": st.column_config.TextColumn("What", width="large"),
    })
st.caption("Kept for at least six years (docs/access.md); no patient identifier is ever written to it.")
