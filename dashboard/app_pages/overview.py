"""Overview: the period's headline figures against the previous period, and when the data was loaded."""

import streamlit as st

from dashboard import format as fmt
from dashboard import capacity_inputs, queries, ui
from dashboard.headlines import headlines

s = ui.header("Overview", "The period at a glance: treatment, outcomes, safety, boosters and chairs.")

figures, previous = headlines(s.scope, s.filters, s.options)
if previous is not None:
    months = s.filters.whole_months()
    span = (("month" if months == 1 else "quarter" if months == 3 else "year" if months == 12 else f"{months} months")
            if months else f"{s.filters.days()} days")
    st.caption(f"Changes compare with the previous {span}: {previous.period_label()}.")
else:
    st.caption("No change shown: the data does not cover all of the previous period.")

for row in (figures[:4], figures[4:]):
    columns = st.columns(4)
    for column, h in zip(columns, row, strict=False):
        ui.headline(column, h.label, h.value, h.delta, h.delta_color, h.help, h.caption)
# the chair utilization card reads the capacity rows: one in quarantine is said here as on the Capacity page
warning = capacity_inputs.warning_text(queries.capacity_quarantine(s.scope, s.filters.clinics),
                                       subject="chair utilization and the Capacity page use", start=s.filters.start,
                                       until=s.filters.end)
if warning:
    st.caption(":material/event_seat: " + ui.md_escape(warning))

ui.chart("overview.courses_by_month")

info = queries.warehouse_info(s.scope)  # quarantine counts are network-wide: None for restricted viewers
st.subheader("Data")
c1, c2, c3 = st.columns(3)
loaded = info.last_load_finished.strftime("%-d %b %Y") if info.last_load_finished else "—"
loaded_at = info.last_load_finished.strftime("%H:%M UTC") if info.last_load_finished else ""
batch = f" · batch “{info.last_load_batch}”" if info.last_load_batch else ""
ui.headline(c1, "Last load", loaded, help="When the newest published load finished.",
            caption=f"{loaded_at}{batch}, {info.loads} load(s) so far")
if info.open_quarantined_rows is not None:
    ui.headline(c2, "Rows in quarantine", fmt.count(info.open_quarantined_rows),
                help="Extract rows that broke a rule and are not loaded (still open).",
                caption=f"{fmt.count(info.last_load_quarantined_rows)} from the last load · see Data quality")
ui.headline(c3, "Warehouse version", str(info.version), help="The published warehouse version these figures read.")
ui.footer()
