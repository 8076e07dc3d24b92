"""Data quality: loads, per-file counts, expectation-suite results, quarantined rows (searchable), version."""

import streamlit as st

from dashboard import format as fmt
from dashboard import auth, capacity_inputs, queries, ui

ENGINES = {"great_expectations": "Great Expectations", "sql": "SQL"}
CHECK_COLUMNS = ("file", "kind", "description", "unexpected_count", "element_count", "success", "engine", "suite",
                 "rule_id", "gx_checked_rows")

s = ui.state()
st.title("Data quality")
if not s.ready:
    st.info(
        "**No warehouse has been loaded yet.** Put an extract batch in a folder and run "
        "`python -m pipelines load DIR` (or `make run` to load the bundled sample). Every file's counts, "
        "the rules checked and the quarantined rows will show here."
    )
    st.stop()

info = queries.warehouse_info(s.scope)
loaded = info.last_load_finished.strftime("%-d %b %Y") if info.last_load_finished else "—"
loaded_at = info.last_load_finished.strftime("%H:%M UTC") if info.last_load_finished else ""
c1, c2, c3, c4 = st.columns(4)
ui.headline(c1, "Warehouse version", str(info.version), help=f"Published file {info.file_name}")
ui.headline(c2, "Last load", loaded, caption=f"{loaded_at} · batch “{info.last_load_batch}”")
ui.headline(c3, "Loads", fmt.count(info.loads))
ui.headline(c4, "Rows in quarantine", fmt.count(info.open_quarantined_rows),
            caption=f"{fmt.count(info.last_load_quarantined_rows)} from the last load")

st.subheader("Loads")
loads = queries.loads(s.scope)
st.dataframe(
    loads, hide_index=True, width="stretch",
    column_config={
        "load_id": st.column_config.NumberColumn("Load", format="%d"),
        "warehouse_version": st.column_config.NumberColumn("Version", format="%d"),
        "batch": "Batch", "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="D MMM YYYY, HH:mm"),
        "finished_at": st.column_config.DatetimeColumn("Finished (UTC)", format="D MMM YYYY, HH:mm"),
        "files": "Files", "rows_read": st.column_config.NumberColumn("Rows read", format="localized"),
        "loaded": st.column_config.NumberColumn("Loaded", format="localized"),
        "quarantined": st.column_config.NumberColumn("Quarantined", format="localized"),
        "duplicates": st.column_config.NumberColumn("Duplicates", format="localized"),
        "replaced": st.column_config.NumberColumn("Replaced", format="localized"),
        "rejected_files": "Rejected files",
    },
)

load_ids = [int(v) for v in loads["load_id"]] if not loads.empty else []
load_id = st.selectbox("Load", load_ids, format_func=lambda i: f"Load {i}", key="dq_load") if load_ids else None

st.subheader("Files of the load")
files = queries.load_files(s.scope, load_id)
# Blank, not "None", where a value does not apply (a skipped file has no kind; a loaded one no reason).
files = files.fillna({"kind": "", "reason": ""})
st.dataframe(
    files.drop(columns=["load_id", "batch", "finished_at"], errors="ignore"), hide_index=True, width="stretch",
    column_config={
        "file": "File", "kind": "Kind", "status": "Status",
        "rows_read": st.column_config.NumberColumn("Rows read", format="localized"),
        "loaded": st.column_config.NumberColumn("Loaded", format="localized"),
        "quarantined": st.column_config.NumberColumn("Quarantined", format="localized"),
        "duplicates": st.column_config.NumberColumn("Duplicates", format="localized"),
        "replaced": st.column_config.NumberColumn("Replaced", format="localized"),
        # Rejected, skipped and already-loaded files all give their reason here, not only rejected ones.
        "reason": st.column_config.TextColumn("Why not loaded", width="medium"),
        "dropped_identifier_columns": st.column_config.ListColumn("Identifier columns dropped"),
        "ignored_columns": st.column_config.ListColumn("Other columns ignored"),
        "seconds": st.column_config.NumberColumn("Seconds", format="%.1f"),
    },
)

st.subheader("Checks (expectation suites and SQL)")
failed_only = st.toggle("Only rules with failing rows", value=True, key="dq_failed_only")
checks = queries.check_results(s.scope, load_id, failed_only)
# The engine in words; the SQL checks (keys, references) belong to no expectation suite.
checks = checks.assign(engine=checks["engine"].map(ENGINES).fillna(checks["engine"]), suite=checks["suite"].fillna(""))
passed = "" if failed_only else f" · {fmt.count(int(checks['success'].sum()) if not checks.empty else 0)} passed"
st.caption(f"{fmt.count(len(checks))} rule results{passed}. GX re-checked rows: how many rows Great Expectations "
           "itself validated (the rest were checked by the SQL translation of the same suite).")
st.dataframe(
    checks.drop(columns=["load_id"], errors="ignore"), hide_index=True, width="stretch",
    # The rule in words and its counts first: they are what a reader looks for. The engine, suite and
    # rule id, for whoever fixes the extract, come after (they pushed the words off the table's edge).
    column_order=CHECK_COLUMNS,
    column_config={
        "file": "File", "kind": "Kind", "rule_id": "Rule",
        # Wide enough for "Great Expectations" and a suite's name ("side_effects_rows") without an ellipsis.
        "engine": st.column_config.TextColumn("Engine", width="medium"),
        "suite": st.column_config.TextColumn("Suite", width="medium"),
        "description": st.column_config.TextColumn("Rule in words", width="large"),
        "success": st.column_config.CheckboxColumn("Passed"),
        "element_count": st.column_config.NumberColumn("Rows checked", format="localized"),
        "unexpected_count": st.column_config.NumberColumn("Rows failing", format="localized"),
        "gx_checked_rows": st.column_config.NumberColumn("GX re-checked rows", format="localized"),
    },
)

st.subheader("Capacity the figures use")
st.caption("Utilization, lost capacity and the planner count chair time against these rows of the clinics extract, "
           "each from its first day until the next row's. A row in quarantine is not used: the row before it "
           "stretches over its dates.")
quarantined_capacity = queries.capacity_quarantine(s.scope)
for sentence in capacity_inputs.quarantine_sentences(quarantined_capacity):
    st.warning(ui.md_escape(sentence), icon=":material/event_seat:")
capacity = queries.capacity_rows(s.scope)
for sentence in capacity_inputs.outside_sentences(capacity):
    st.warning(ui.md_escape(sentence), icon=":material/schedule:")
st.dataframe(
    capacity_inputs.rows_table(capacity, quarantined_capacity), hide_index=True, width="stretch",
    column_config={
        "Until": st.column_config.TextColumn("Until", help="The day the next row starts (not included)"),
        "Treated sessions": st.column_config.NumberColumn(format="localized"),
        "On closed days": st.column_config.NumberColumn(
            format="localized", help="Treated sessions on a day this row says the clinic is closed"),
        "Chair-hours outside hours": st.column_config.NumberColumn(
            format="%.1f", help="Chair time (check-in to discharge) outside the open window"),
        "In place of quarantined": st.column_config.TextColumn(
            width="medium", help="A clinics row meant to start then is in quarantine: this row's chairs, hours and days are used "
                 "over its dates instead"),
    },
)

st.subheader("Quarantined rows")
ui.chart("quality.quarantine_reasons")
c1, c2, c3 = st.columns([3, 1, 1])
search = c1.text_input("Search file, rule, reason or value" if s.scope.row_level else "Search file, rule or reason",
                       key="dq_search", max_chars=100, placeholder="e.g. dose_mg, sessions.csv, known session")
kinds = ["clinics", "patients", "sessions", "vitals", "assessments", "side_effects"]
kind = c2.selectbox("Kind", [None, *kinds], format_func=lambda k: "All kinds" if k is None else k, key="dq_kind")
open_only = c3.toggle("Open rows only", value=True, key="dq_open_only")
rows = queries.quarantine_rows(s.scope, search, kind, open_only)
if s.scope.row_level and not rows.empty and not auth.row_level_view_allowed(  # the access log records who looked
        "quarantined rows", search=search, kind=kind or "all", open_only=open_only, rows=len(rows)):
    rows = rows.iloc[0:0]
st.caption(
    f"{fmt.count(len(rows))} rows shown (newest first, at most {queries.QUARANTINE_LIMIT}). " +
    ("Values are the file's original text; patient references are never shown. Opening them is recorded in the "
     "access log." if s.scope.row_level else "Row values, keys and row numbers are shown to the medical director only.")
)
# Without row-level access the query withholds what points at one row; the empty columns are not drawn either.
hidden = ["quarantine_id"] if s.scope.row_level else ["quarantine_id", "row_number", "record_key", "original_values"]
if rows.empty:
    st.info("No quarantined row matches." if search or kind else "No quarantined rows.")
else:
    st.dataframe(
        rows.drop(columns=hidden, errors="ignore"), hide_index=True, width="stretch",
        column_config={
            "load_id": st.column_config.NumberColumn("Load", format="%d"), "file": "File", "kind": "Kind",
            "row_number": st.column_config.NumberColumn("Row", format="%d"), "record_key": "Key",
            "reasons": st.column_config.TextColumn("Rules broken", width="large"),
            "orphan_only": st.column_config.CheckboxColumn("Waiting for parent"),
            "original_values": st.column_config.TextColumn("Original values", width="large"),
            "quarantined_at": st.column_config.DatetimeColumn("Quarantined (UTC)", format="D MMM YYYY, HH:mm"),
            "is_open": st.column_config.CheckboxColumn("Open"), "resolution": "Resolution",
        },
    )
ui.footer()
