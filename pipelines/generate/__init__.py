"""Sample-data generator: a realistic batch of clinic extracts in the contract's format.

    from pipelines.generate import generate_batch
    summary = generate_batch("out/batch", clinics=3, months=12, seed=0, defects=True)
    summary.files  # {"clinics.csv": 7, "patients.csv.gz": 2301, ...}

See docs/sample-data.md for what is generated, the sources of every figure, and the defects.
The names below are imported on first use, so `python -m pipelines <any command>` does not pay for
numpy and polars unless it generates.
"""

__all__ = ["FORMATS", "Defect", "GenerateError", "GenerateSummary", "generate_batch"]


def __getattr__(name: str):
    if name in ("FORMATS", "GenerateError", "GenerateSummary", "generate_batch"):
        from pipelines.generate import core

        return getattr(core, name)
    if name == "Defect":
        from pipelines.generate.defects import Defect

        return Defect
    raise AttributeError(f"module 'pipelines.generate' has no attribute {name!r}")
