"""Constants shared by the dashboard tests (a module of its own: every test folder has a `conftest`)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"

# Selects no session at all in data_samples/: DEN is closed on Sundays, and no esketamine course treats
# postpartum depression.
NOTHING = {
    "clinic": ["DEN"], "start": ["2025-01-05"], "end": ["2025-01-05"],
    "modality": ["esketamine_nasal"], "indication": ["postpartum_depression"],
}

# Pages in sections (tabs), of which only the open one runs (dashboard.ui.sections): page -> (URL parameter and
# widget key, the sections' labels, the first the default).
SECTIONS = {
    "outcomes": ("out_tab", ["Response and remission", "Clinics compared", "Over the course", "PHQ-9 item 9"]),
    "safety": ("safety_tab", ["Side effects", "Blood pressure and vitals", "Clinics compared", "Sessions to review",
                              "REMS monitoring"]),
    "planning": ("planning_tab", ["Utilization and chairs", "Busy hours", "Demand and waits"]),
}


def open_section(at, page: str, label: str):
    """Open a section in AppTest as a click on its tab does in the browser: the widget's state and the URL both
    change (AppTest's URL otherwise keeps a section opened earlier, and Streamlit reads the URL's)."""
    key = SECTIONS[page][0]
    at.session_state[key] = label
    at.query_params[key] = label
    return at.run()
