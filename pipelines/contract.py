"""The extract contract's shape: kinds, columns and their types, keys, references.

What a value must satisfy (required, ranges, sets, orderings) is not here: those are row rules and
live once, as Great Expectations suites, in `pipelines.load.suites`. This module says only how to
read each column and how rows of different extracts refer to each other, which GX cannot express.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum


class ColType(Enum):
    TEXT = "text"  # trimmed; empty is missing
    PSEUDONYM = "pseudonym"  # patient_ref: replaced by a keyed hash before anything is stored
    INT = "int"  # a whole number ("120" or "120.0"; not "120.5")
    FLOAT = "float"
    TIMESTAMP = "timestamp"  # ISO 8601 or US MM/DD/YYYY HH:MM, naive = clinic wall clock
    DATE = "date"
    TIME = "time"  # HH:MM
    BOOL = "bool"  # true/false, yes/no, y/n, 1/0, any case
    ENUM_LOWER = "enum_lower"  # matched case-insensitively after trimming; stored lower case
    ENUM_UPPER = "enum_upper"  # the same, stored upper case (sex F/M/X/U, instrument PHQ9...)
    DAYS = "days"  # comma list of weekday names, stored as "Mon,Tue,..."

    @property
    def parsed(self) -> bool:
        """True when reading the value can fail (so a given-but-unreadable value is its own rule)."""
        return self in {ColType.INT, ColType.FLOAT, ColType.TIMESTAMP, ColType.DATE, ColType.TIME,
                        ColType.BOOL, ColType.DAYS}


@dataclass(frozen=True)
class Reference:
    """`column` must name a row of `parent` (in the warehouse or earlier in the same batch)."""

    column: str
    parent: str
    parent_column: str


@dataclass(frozen=True)
class Extract:
    kind: str
    columns: dict[str, ColType]
    key: tuple[str, ...]
    references: tuple[Reference, ...] = ()
    # How a row finds the clinic whose time zone its timestamps are read in.
    timezone_via: str | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def timestamp_columns(self) -> list[str]:
        return [c for c, t in self.columns.items() if t is ColType.TIMESTAMP]


T = ColType

EXTRACTS: dict[str, Extract] = {
    "clinics": Extract(
        kind="clinics",
        columns={
            "clinic_id": T.TEXT, "clinic_name": T.TEXT, "timezone": T.TEXT, "chairs": T.INT,
            "opens_at": T.TIME, "closes_at": T.TIME, "open_days": T.DAYS, "valid_from": T.DATE,
        },
        key=("clinic_id", "valid_from"),
    ),
    "patients": Extract(
        kind="patients",
        columns={
            "patient_ref": T.PSEUDONYM, "clinic_id": T.TEXT, "birth_year": T.INT, "sex": T.ENUM_UPPER,
            "primary_indication": T.ENUM_LOWER, "maoi": T.BOOL, "lamotrigine": T.BOOL,
            "benzodiazepine": T.BOOL, "opioid": T.BOOL,
        },
        key=("patient_ref",),
        references=(Reference("clinic_id", "clinics", "clinic_id"),),
    ),
    "sessions": Extract(
        kind="sessions",
        columns={
            "session_id": T.TEXT, "patient_ref": T.PSEUDONYM, "clinic_id": T.TEXT, "chair_id": T.TEXT,
            "modality": T.ENUM_LOWER, "status": T.ENUM_LOWER, "scheduled_start": T.TIMESTAMP,
            "checkin_at": T.TIMESTAMP, "treatment_start": T.TIMESTAMP, "treatment_end": T.TIMESTAMP,
            "discharge_at": T.TIMESTAMP, "dose_mg": T.FLOAT, "weight_kg": T.FLOAT,
        },
        key=("session_id",),
        references=(
            Reference("patient_ref", "patients", "patient_ref"),
            Reference("clinic_id", "clinics", "clinic_id"),
        ),
        timezone_via="clinic",
    ),
    "vitals": Extract(
        kind="vitals",
        columns={
            "session_id": T.TEXT, "measured_at": T.TIMESTAMP, "systolic_bp": T.INT,
            "diastolic_bp": T.INT, "heart_rate": T.INT, "spo2": T.INT, "respiratory_rate": T.INT,
        },
        key=("session_id", "measured_at"),
        references=(Reference("session_id", "sessions", "session_id"),),
        timezone_via="session",
    ),
    "assessments": Extract(
        kind="assessments",
        columns={
            "assessment_id": T.TEXT, "patient_ref": T.PSEUDONYM, "assessed_at": T.TIMESTAMP,
            "instrument": T.ENUM_UPPER, "score": T.FLOAT, "session_id": T.TEXT, "item9": T.INT,
        },
        key=("assessment_id",),
        references=(
            Reference("patient_ref", "patients", "patient_ref"),
            Reference("session_id", "sessions", "session_id"),  # only when given
        ),
        timezone_via="session_else_patient",
    ),
    "side_effects": Extract(
        kind="side_effects",
        columns={
            "session_id": T.TEXT, "effect": T.ENUM_LOWER, "severity": T.ENUM_LOWER,
            "onset_min": T.INT, "intervention": T.ENUM_LOWER,
        },
        key=("session_id", "effect"),
        references=(Reference("session_id", "sessions", "session_id"),),
    ),
}

# The contract's load order inside a batch: parents before children.
LOAD_ORDER = ("clinics", "patients", "sessions", "vitals", "assessments", "side_effects")

# Direct identifiers: dropped before anything is stored, whatever extract they come in.
IDENTIFIER_COLUMNS = frozenset({
    "name", "first_name", "last_name", "full_name", "middle_name", "patient_name", "preferred_name",
    "maiden_name", "dob", "date_of_birth", "birth_date", "birthdate", "address", "address_1",
    "address_2", "address_line_1", "address_line_2", "address1", "address2", "street",
    "street_address", "city", "county", "zip", "zip_code", "zipcode", "postal_code", "postcode",
    "phone", "phone_number", "mobile", "mobile_phone", "cell", "cell_phone", "home_phone",
    "work_phone", "fax", "email", "email_address", "ssn", "social_security_number", "mrn",
    "medical_record_number", "insurance_id", "member_id", "policy_number", "subscriber_id",
    "health_plan_id", "account_number", "license_number", "drivers_license", "passport_number",
    "ip_address", "emergency_contact", "guarantor_name", "photo_url",
})
# Names that look like identifiers even when not on the list above (e.g. "patient_email").
_IDENTIFIER_PATTERN = re.compile(
    r"(^|_)(name|firstname|lastname|dob|birth_?date|address|street|zip|postal|phone|email|ssn|mrn|"
    r"insurance|member_id|policy|passport|license)(_|$)"
)


def is_identifier(column: str) -> bool:
    """True for a column that names or locates a person; contract columns never are."""
    return column in IDENTIFIER_COLUMNS or bool(_IDENTIFIER_PATTERN.search(column))


def kind_of(file_name: str) -> str | None:
    """The extract a file holds, from the start of its name (case-insensitive), or None."""
    lowered = file_name.lower()
    for kind in EXTRACTS:
        if lowered.startswith(kind):
            return kind
    return None


def normalize_header(name: str) -> str:
    """Header names match case-insensitively after trimming and turning spaces into `_`."""
    return name.replace("\ufeff", "").strip().lower().replace(" ", "_")
