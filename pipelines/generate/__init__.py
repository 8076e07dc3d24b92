"""Sample-data generator: a realistic batch of clinic extracts in the contract's format.

    from pipelines.generate import generate_batch
    summary = generate_batch("out/batch", clinics=3, months=12, seed=0, defects=True)
    summary.files  # {"clinics.csv": 8, "patients.csv.gz": 2930, ...}: data rows per file

See docs/sample-data.md for what is generated, the sources of every figure, and the defects.
"""

from pipelines.generate.core import FORMATS, GenerateError, GenerateSummary, generate_batch
from pipelines.generate.defects import Defect

__all__ = ["FORMATS", "Defect", "GenerateError", "GenerateSummary", "generate_batch"]
