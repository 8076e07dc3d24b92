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
