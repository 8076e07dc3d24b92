"""Planning scenarios: what to change about a clinic, saved as small JSON files.

A scenario holds only what it changes; everything left out (None) keeps the clinic's observed value:
the clinics row valid when the plan starts (chairs, open window, open days), the forecast of new
patients, the observed no-show rate and chair time. Saved scenarios live in one folder, one
`<slug of the name>.json` file each:

- the folder is `$CLINIC_ANALYTICS_SCENARIOS` when set, else `scenarios/` under the working directory
  (like the warehouse, relative to where `make run` / the command runs);
- `save_scenario(s)` writes it (replacing a file of the same name), `load_scenario(name or path)`
  reads it back, `list_scenarios()` lists the folder.

The file is the dataclass as JSON plus `"format": 1`; unknown keys are refused rather than ignored,
so a typo in a hand-edited file is caught.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import ConfigError, UsageError
from pipelines.paths import blocking_file
from pipelines.plan.holidays import HOLIDAY_NAMES, holiday_named
from pipelines.plan.protocol import MODALITIES, WEEKDAYS

ENV_SCENARIOS = "CLINIC_ANALYTICS_SCENARIOS"
DEFAULT_SCENARIOS_DIR = Path("scenarios")
FORMAT = 1
MAX_CHAIRS = 60  # the extract contract's bound
MAX_HORIZON_WEEKS = 52


# The name of the scenario that changes nothing (today's chairs, hours and demand), the same in the
# `plan` command and on the Planning page: the CLI said "baseline" where the page said "current", and
# "baseline" is also the outcome scales' word for the score before treatment.
UNCHANGED = "current"


@dataclass(frozen=True)
class Scenario:
    """A what-if for one clinic. None = keep what the warehouse says."""

    name: str = UNCHANGED
    clinic_id: str | None = None
    horizon_weeks: int = 13
    chairs: int | None = None
    opens_at: str | None = None  # "HH:MM"
    closes_at: str | None = None
    open_days: tuple[str, ...] | None = None  # ("Mon", "Tue", ...)
    # US federal holidays the clinic closes on ("Thanksgiving", ...); () = none; None = as its sessions show
    closed_on: tuple[str, ...] | None = None
    new_patients_per_week: float | None = None  # replaces the forecast
    demand_multiplier: float = 1.0  # scales the forecast (or the figure above)
    no_show_rate: float | None = None  # share of booked sessions
    chair_minutes: float | dict[str, float] | None = None  # all modalities, or per modality
    target_utilization: float = 0.8
    as_of: str | None = None  # plan as if the data ended the day before (YYYY-MM-DD); None = latest
    note: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.open_days, str):  # "Mon,Wed,Fri" or "Mon-Fri", as the clinics extract writes them
            object.__setattr__(self, "open_days", parse_days(self.open_days))
        elif isinstance(self.open_days, list):
            object.__setattr__(self, "open_days", tuple(self.open_days))
        if isinstance(self.closed_on, str):  # "Thanksgiving,Christmas Day" or "none"
            object.__setattr__(self, "closed_on", parse_holidays(self.closed_on))
        elif isinstance(self.closed_on, (list, tuple)):
            object.__setattr__(self, "closed_on", _holiday_names(self.closed_on))
        validate(self)

    def replace(self, **changes) -> "Scenario":
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["open_days"] = list(self.open_days) if self.open_days is not None else None
        data["closed_on"] = list(self.closed_on) if self.closed_on is not None else None
        return {"format": FORMAT, **data}

    @classmethod
    def from_json(cls, data: dict) -> "Scenario":
        if not isinstance(data, dict):
            raise UsageError("a scenario file must hold one JSON object")
        data = dict(data)
        fmt = data.pop("format", FORMAT)
        if fmt != FORMAT:
            raise UsageError(f"scenario format {fmt!r} is not supported (expected {FORMAT})")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(f"unknown scenario field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise UsageError(f"bad scenario: {exc}") from None

    def window_minutes(self) -> tuple[int, int] | None:
        if self.opens_at is None or self.closes_at is None:
            return None
        return _minutes(self.opens_at), _minutes(self.closes_at)


def validate(s: Scenario) -> None:
    """Raise UsageError (one line) for a value no plan can use."""
    if not isinstance(s.name, str) or not s.name.strip():
        raise UsageError("a scenario needs a name")
    if not isinstance(s.horizon_weeks, int) or not 1 <= s.horizon_weeks <= MAX_HORIZON_WEEKS:
        raise UsageError(f"the horizon must be 1 to {MAX_HORIZON_WEEKS} weeks, not {s.horizon_weeks!r}")
    if s.chairs is not None and (not isinstance(s.chairs, int) or isinstance(s.chairs, bool)
                                 or not 1 <= s.chairs <= MAX_CHAIRS):
        raise UsageError(f"chairs must be a whole number from 1 to {MAX_CHAIRS}, not {s.chairs!r}")
    if (s.opens_at is None) != (s.closes_at is None):
        raise UsageError("give both opening and closing time (HH:MM-HH:MM)")
    if s.opens_at is not None:
        opens, closes = _minutes(s.opens_at), _minutes(s.closes_at)
        if opens >= closes:
            raise UsageError(f"the clinic must open before it closes ({s.opens_at}-{s.closes_at})")
    if s.open_days is not None:
        if not isinstance(s.open_days, tuple):
            raise UsageError(f"open days must be a list of weekdays or text such as \"Mon,Wed,Fri\", "
                             f"not {s.open_days!r}")
        if not s.open_days:
            raise UsageError("a clinic needs at least one open day")
        bad = [d for d in s.open_days if not isinstance(d, str) or d[:3].title() not in WEEKDAYS]
        if bad:
            raise UsageError(f"unknown weekday {bad[0]!r}: use Mon, Tue, Wed, Thu, Fri, Sat, Sun")
    if s.closed_on is not None and (not isinstance(s.closed_on, tuple)
                                    or any(n not in HOLIDAY_NAMES for n in s.closed_on)):
        raise UsageError(f"closed holidays must be a list of holiday names or text such as "
                         f"\"Thanksgiving,Christmas Day\", not {s.closed_on!r}")
    for name in ("new_patients_per_week", "demand_multiplier"):
        value = getattr(s, name)
        if value is not None and (not _number(value) or value < 0 or value > 100_000):
            raise UsageError(f"{name.replace('_', ' ')} must be a number >= 0, not {value!r}")
    if s.no_show_rate is not None and (not _number(s.no_show_rate) or not 0 <= s.no_show_rate < 0.9):
        raise UsageError(f"the no-show rate must be a fraction from 0 to 0.9, not {s.no_show_rate!r}")
    if not _number(s.target_utilization) or not 0 < s.target_utilization <= 1:
        raise UsageError(f"the target utilization must be a fraction in (0, 1], not {s.target_utilization!r}")
    if s.chair_minutes is not None:
        values = s.chair_minutes.values() if isinstance(s.chair_minutes, dict) else [s.chair_minutes]
        if isinstance(s.chair_minutes, dict):
            unknown = [m for m in s.chair_minutes if m not in MODALITIES]
            if unknown:
                raise UsageError(f"unknown modality {unknown[0]!r} in chair minutes: use {', '.join(MODALITIES)}")
        if any(not _number(v) or not 5 <= v <= 720 for v in values):
            raise UsageError("chair minutes per session must be from 5 to 720")
    if s.as_of is not None:
        try:
            dt.date.fromisoformat(s.as_of)
        except (TypeError, ValueError):
            raise UsageError(f"as_of {s.as_of!r} is not a date written YYYY-MM-DD") from None


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _minutes(text: str) -> int:
    match = _HHMM.match(text.strip()) if isinstance(text, str) else None
    if text == "24:00":
        return 24 * 60
    if not match:
        raise UsageError(f"{text!r} is not a time of day written HH:MM")
    return int(match.group(1)) * 60 + int(match.group(2))


def parse_window(text: str) -> tuple[str, str]:
    """'08:00-18:00' -> ('08:00', '18:00')."""
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2:
        raise UsageError(f"opening hours {text!r} must look like 08:00-18:00")
    opens, closes = parts[0].strip(), parts[1].strip()
    if _minutes(opens) >= _minutes(closes):
        raise UsageError(f"the clinic must open before it closes ({text})")
    return opens, closes


def parse_days(text: str) -> tuple[str, ...]:
    """'Mon,Tue,Thu' -> ('Mon', 'Tue', 'Thu') in weekday order; 'Mon-Fri' ranges are read too."""
    if not isinstance(text, str):
        raise UsageError(f"open days {text!r} must be text such as Mon,Tue,Wed")
    days: list[str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        ends = [x.strip()[:3].title() for x in part.split("-")]
        if any(e not in WEEKDAYS for e in ends) or len(ends) > 2:
            raise UsageError(f"unknown weekday in {part!r}: use Mon, Tue, Wed, Thu, Fri, Sat, Sun")
        if len(ends) == 2:
            i, j = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[1])
            if j < i:
                raise UsageError(f"weekday range {part!r} runs backwards")
            days.extend(WEEKDAYS[i:j + 1])
        else:
            days.append(ends[0])
    if not days:
        raise UsageError("give at least one open day, e.g. Mon,Tue,Wed,Thu,Fri")
    return tuple(d for d in WEEKDAYS if d in set(days))


def _holiday_names(values) -> tuple[str, ...]:
    """Holiday names as HOLIDAY_NAMES writes them, in the calendar's order; UsageError for one it lacks."""
    found = set()
    for value in values:
        name = holiday_named(value)
        if name is None:
            shown = repr(value[:20] if isinstance(value, str) else value)[:30]
            raise UsageError(f"unknown public holiday {shown}: use {', '.join(HOLIDAY_NAMES)} (or none)")
        found.add(name)
    return tuple(n for n in HOLIDAY_NAMES if n in found)


def parse_holidays(text: str) -> tuple[str, ...]:
    """'Thanksgiving, Christmas Day' -> ('Thanksgiving', 'Christmas Day'); 'none' -> () (open on every one)."""
    if not isinstance(text, str):
        raise UsageError(f"closed holidays {text!r} must be text such as Thanksgiving,Christmas Day")
    if text.strip().casefold() == "none":
        return ()
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise UsageError("give the holidays the clinic closes on, e.g. Thanksgiving,Christmas Day (or none)")
    return _holiday_names(parts)


def parse_chair_minutes(text: str) -> float | dict[str, float]:
    """'95' (every modality) or 'iv_ketamine=95,esketamine_nasal=150'."""
    try:
        if "=" not in text:
            return float(text)
        out = {}
        for part in text.split(","):
            key, value = part.split("=")
            out[key.strip()] = float(value)
        return out
    except ValueError:
        raise UsageError(f"chair minutes {text!r} must be a number or modality=minutes pairs") from None


# -- the scenarios folder ---------------------------------------------------------------------

def scenarios_dir(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_SCENARIOS)
    return Path(env) if env else DEFAULT_SCENARIOS_DIR


def _where(explicit: str | os.PathLike | None) -> str:
    directory = scenarios_dir(explicit)
    if explicit:
        return f"the scenarios folder {directory}"
    if os.environ.get(ENV_SCENARIOS):
        return f"{ENV_SCENARIOS}={directory}"
    return f"the scenarios folder {directory.absolute()}"


def check_scenarios_dir(folder: str | os.PathLike | None = None) -> Path:
    """The scenarios folder, or ConfigError (one line) when something that is not a folder is in its
    place (or in the place of one of its parents)."""
    directory = scenarios_dir(folder)
    place = blocking_file(directory)
    if place is not None:
        what = "" if place == directory else f" ({place} is not a folder)"
        raise ConfigError(f"{_where(folder)} is not a folder{what}: point {ENV_SCENARIOS} at a folder for "
                          "saved scenarios")
    return directory


def slug(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return cleaned or "scenario"


def save_scenario(scenario: Scenario, folder: str | os.PathLike | None = None) -> Path:
    """Write the scenario to `<folder>/<slug>.json` (atomically; an existing file is replaced)."""
    directory = check_scenarios_dir(folder)
    path = directory / f"{slug(scenario.name)}.json"
    tmp = path.with_suffix(".json.tmp")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise ConfigError(f"{path} is a folder, so no scenario can be saved under the name {scenario.name!r}")
        tmp.write_text(json.dumps(scenario.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"the scenario cannot be saved in {directory} ({exc.strerror or exc})") from None
    return path


def load_scenario(name_or_path: str | os.PathLike, folder: str | os.PathLike | None = None) -> Scenario:
    """A scenario from a file path, or by name from the scenarios folder."""
    path = Path(name_or_path)
    if not path.suffix == ".json" or not path.exists():
        candidate = scenarios_dir(folder) / f"{slug(str(name_or_path))}.json"
        if candidate.exists():
            path = candidate
        elif not path.exists():
            check_scenarios_dir(folder)  # a name to look up, and the folder is not a folder: say that
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"no scenario file at {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a scenario file") from None
    except OSError as exc:
        raise UsageError(f"the scenario file {path} cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not a scenario file: byte {exc.start + 1} is not UTF-8 text "
                         "(a scenario file is JSON, as --save-scenario writes it)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path} is not valid JSON (line {exc.lineno})") from None
    return Scenario.from_json(data)


def list_scenarios(folder: str | os.PathLike | None = None) -> list[Scenario]:
    directory = check_scenarios_dir(folder)
    if not directory.exists():
        return []
    return [load_scenario(p) for p in sorted(directory.glob("*.json"))]


def delete_scenario(name: str, folder: str | os.PathLike | None = None) -> bool:
    path = scenarios_dir(folder) / f"{slug(name)}.json"
    if path.exists():
        path.unlink()
        return True
    return False
