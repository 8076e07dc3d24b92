"""Who is looking: the clinics a viewer may see, and whether they may see anything below aggregates.

Every query function in dashboard.queries takes a Scope and intersects the requested clinics with it
before any SQL runs, so no widget, URL parameter or export can widen what a viewer sees. Demo mode uses
`Scope.everything()`; signed-in viewers get the Scope of their grant (dashboard.auth.scope_for).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """clinics: the clinic ids the viewer may see (None = every clinic of the warehouse).
    aggregates_only: the viewer sees aggregated figures only (no row-level data such as quarantined
    rows' values); small-cell suppression for such viewers arrives with issue 5.
    row_level: the viewer may see row-level extract values (quarantined rows' original values);
    only the medical director (and demo mode on the bundled sample) may. Roles: dashboard.auth."""

    clinics: frozenset[str] | None = None
    aggregates_only: bool = False
    name: str = "demo"
    row_level: bool = True

    @property
    def whole_network(self) -> bool:
        """Every clinic and more than aggregates: may see network-wide load and data-quality facts."""
        return self.clinics is None and not self.aggregates_only

    @classmethod
    def everything(cls) -> Scope:
        """Demo mode: all clinics, everything."""
        return cls(clinics=None, aggregates_only=False, name="demo")

    @classmethod
    def for_clinics(cls, clinics: Iterable[str], aggregates_only: bool = False, name: str = "clinics") -> Scope:
        return cls(clinics=frozenset(str(c) for c in clinics), aggregates_only=aggregates_only, name=name)

    @property
    def all_clinics(self) -> bool:
        return self.clinics is None

    def allows(self, clinic_id: str) -> bool:
        return self.clinics is None or clinic_id in self.clinics

    def restrict(self, requested: Iterable[str] | None) -> list[str] | None:
        """The clinic list to pass to SQL: the requested clinics the scope allows.

        None means "every clinic" and is only returned for an unrestricted scope with no clinic
        requested; an empty list selects nothing (a request wholly outside the scope)."""
        wanted = sorted({str(c) for c in requested}) if requested else []
        if self.clinics is None:
            return wanted or None
        if not wanted:
            return sorted(self.clinics)
        return [c for c in wanted if c in self.clinics]
