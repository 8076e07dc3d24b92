"""Capacity planning: forecast new courses, turn them into sessions and chair time through the
observed protocol, simulate the schedule, and find the fewest chairs that meet a utilization target.

    from pipelines.plan import Scenario, plan_clinic
    projection = plan_clinic("OKC", Scenario(chairs=8), db="warehouse/clinic_analytics.duckdb")

Kept import-light (nothing heavy until used): `python -m pipelines` builds its parser from
pipelines.plan.cli, which imports this package. docs/planning.md explains the model.
"""

__all__ = [
    "Scenario", "save_scenario", "load_scenario", "list_scenarios", "delete_scenario", "scenarios_dir",
    "plan_clinic", "plan_from_inputs", "Projection", "compare_scenarios", "read_inputs", "ClinicInputs",
    "forecast_new_courses",
]

_HOME = {
    "Scenario": "scenario", "save_scenario": "scenario", "load_scenario": "scenario",
    "list_scenarios": "scenario", "delete_scenario": "scenario", "scenarios_dir": "scenario",
    "plan_clinic": "engine", "plan_from_inputs": "engine", "Projection": "engine",
    "compare_scenarios": "compare", "read_inputs": "inputs", "ClinicInputs": "inputs",
    "forecast_new_courses": "demand",
}


def __getattr__(name: str):
    if name in _HOME:
        import importlib

        return getattr(importlib.import_module(f"pipelines.plan.{_HOME[name]}"), name)
    raise AttributeError(f"module 'pipelines.plan' has no attribute {name!r}")
