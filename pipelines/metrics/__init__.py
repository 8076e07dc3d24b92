"""The `metrics` figures: a thin reader over the warehouse's metric macros (sql/metrics) and marts.

Every number is computed in SQL (the marts and the `metrics.*` macros); this package only chooses
the parameters (clinics, period), runs the queries on a read-only connection to the published
warehouse, and shapes the rows into the contract's JSON object. It must stay import-light (no
pandas, polars or Great Expectations): the `metrics` command answers in well under a second.

    from pipelines.metrics import compute_metrics
    compute_metrics("warehouse/clinic_analytics.duckdb", clinics=["OKC"], start="2025-01-01")
"""

__all__ = ["compute_metrics", "metrics_from_connection"]


def __getattr__(name: str):
    # Imported on first use, so `python -m pipelines` builds its parser without loading duckdb.
    if name in __all__:
        from pipelines.metrics import compute

        return getattr(compute, name)
    raise AttributeError(f"module 'pipelines.metrics' has no attribute {name!r}")
