"""Board pack: one PDF and one PowerPoint for a period, clinics and sections (dashboard.exports.boardpack).

Every chart is the app's own figure with small counts suppressed, one per page or slide, with its
title, period and n, the key figures in words, the definition and the suppression note; a cover lists
the contents. Built when asked (a few seconds per ten charts), then offered as two downloads.
"""

import datetime as dt
from functools import partial

import streamlit as st

from dashboard import auth
from dashboard import format as fmt
from dashboard import suppression as sup
from dashboard import ui
from dashboard.exports import boardpack
from dashboard.exports import period as per
from dashboard.exports import render

K_RESULT = "bp_result"

s = ui.header("Board pack", "One PDF and one PowerPoint with a chart per page, ready for the board: small "
                            "counts suppressed, every figure defined.", selection=False)
opts = s.options
first, last = opts.data_start, opts.data_end
if first is None or last is None:
    st.info("No treatment sessions are loaded yet, so there is no period to report on.")
    st.stop()

left, right = st.columns([1, 1], gap="large")
with left:
    kind = st.segmented_control("Period", ["Quarter", "Month", "Custom"], default="Quarter", key="bp_kind") or "Quarter"
    if kind == "Quarter":
        choices = per.quarters_between(first, last)
        full = [p for p in choices if p.end <= last] or choices
        chosen = st.selectbox("Quarter", choices, index=choices.index(full[0]), format_func=lambda p: p.label,
                              key="bp_quarter")
    elif kind == "Month":
        choices = per.months_between(first, last)
        full = [p for p in choices if p.end <= last] or choices
        chosen = st.selectbox("Month", choices, index=choices.index(full[0]), format_func=lambda p: p.label,
                              key="bp_month")
    else:
        start_default = s.filters.start or max(first, last - dt.timedelta(days=89))
        days = st.date_input("From – to", value=(start_default, s.filters.end or last), min_value=first,
                             max_value=last, format="YYYY-MM-DD", key="bp_days")
        chosen = None
        if isinstance(days, (tuple, list)) and len(days) == 2:
            try:
                chosen = per.custom(days[0], days[1])
            except per.PeriodError as exc:  # longer than a pack covers (only with years of data)
                st.warning(ui.md_escape(f"Choose a shorter period: {exc}."))
    clinics = st.multiselect("Clinics", list(opts.clinics), default=[c for c in s.filters.clinics if c in opts.clinics],
                             format_func=lambda c: opts.clinics.get(c, c), placeholder=f"All {len(opts.clinics)} clinics",
                             key="bp_clinics")
with right:
    sections = st.multiselect("Sections", list(boardpack.SECTIONS), default=list(boardpack.DEFAULT_SECTIONS),
                              format_func=lambda name: boardpack.SECTION_TITLES.get(name, name), key="bp_sections")
    count = sum(len(boardpack.SECTIONS[name]) for name in sections)
    per_clinic = any(c in boardpack.PER_CLINIC for name in sections for c in boardpack.SECTIONS[name])
    st.caption(f"{count} charts, one per page{' (weekday × hour: a page per clinic)' if per_clinic else ''}, "
               "after a cover with the contents. "
               + (sup.note(sup.min_cell()) or "Small-cell suppression is off."))
    st.caption("The modality and indication filters of the sidebar do not apply: a board pack covers every treatment.")

ready = chosen is not None and count > 0
if st.button("Build the board pack", type="primary", disabled=not ready, icon=":material/picture_as_pdf:"):
    bar = st.progress(0.0, text="Starting…")

    def progress(done: int, total: int, what: str) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"Drawing {what}" if what != "done" else "Assembling the files…")

    request = boardpack.BoardPackRequest(period=chosen, clinics=tuple(clinics), sections=tuple(sections))
    try:
        with st.spinner("Building the board pack…"):
            pack = boardpack.build(s.scope, request, progress=progress)
    except render.RenderTimeout as exc:
        pack = None
        st.session_state.pop(K_RESULT, None)
        st.error(ui.md_escape(f"The board pack was not built: {exc}."))
    bar.empty()
    if pack is not None:
        auth.record_export("board_pack", period=chosen.slug, clinics=",".join(clinics) or "all",
                           sections=",".join(sections))
        st.session_state[K_RESULT] = {
            "stem": pack.stem, "pdf": pack.pdf, "pptx": pack.pptx, "label": pack.period.label,
            "selection": pack.selection, "generated": pack.generated_at,
            "pages": [(p.title, p.hidden, p.empty) for p in pack.pages], "seconds": pack.timings.get("total_s", 0.0),
            "choice": (chosen, tuple(clinics), tuple(sections)),
        }

result = st.session_state.get(K_RESULT)
if result:
    st.success(f"Board pack for {result['label']} ({ui.md_escape(result['selection'])}): "
               f"{fmt.count(len(result['pages']))} pages and a cover, built in {result['seconds']:.1f} s.")
    if result.get("choice") != (chosen, tuple(clinics), tuple(sections)):  # the choices changed since
        st.warning(f"These files are the pack for {result['label']} ({ui.md_escape(result['selection'])}) built "
                   "before, not for the choices above: build the board pack again for those.")
    viewer = auth.current_viewer()  # read now: the files are handed out when clicked, maybe much later

    def served(blob: bytes) -> bytes:
        """The built file, only while the grant and sign-in that built it still hold (auth.check_still_allowed:
        a person revoked since then gets nothing; Streamlit says the file could not be made)."""
        auth.check_still_allowed(viewer)
        return blob

    a, b, _ = st.columns([1, 1, 2])
    a.download_button("PDF", data=partial(served, result["pdf"]), file_name=f"{result['stem']}.pdf", mime="application/pdf",
                      icon=":material/download:", on_click="ignore", key="bp_download_pdf", width="stretch")
    b.download_button("PowerPoint", data=partial(served, result["pptx"]), file_name=f"{result['stem']}.pptx", icon=":material/download:",
                      mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
                      on_click="ignore", key="bp_download_pptx", width="stretch")
    hidden = [(t, h) for t, h, _e in result["pages"] if h]
    empty = [t for t, _h, e in result["pages"] if e]
    lines = [f"{i + 2}. {ui.md_escape(t)}" + (f" — {fmt.count(h)} values of its data hidden" if h else "")
             for i, (t, h, _e) in enumerate(result["pages"])]
    with st.expander("Contents", expanded=False):
        st.markdown("  \n".join(lines))
    if empty:
        st.caption(f"{len(empty)} charts have no data for this selection and say so on their page.")
    st.caption(f"Generated {result['generated']:%-d %b %Y %H:%M} UTC. "
               f"{len(hidden)} pages hide small counts (cell-size rule).")
ui.footer()
