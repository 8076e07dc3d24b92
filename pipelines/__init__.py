"""clinic-analytics pipelines: load extracts, build the warehouse, compute metrics.

Importable API (the CLI in `python -m pipelines` is a thin wrapper over these):
    load_batch(batch_dir, db=None) -> LoadReport
"""

__version__ = "0.1.0"


def load_batch(*args, **kwargs):
    from pipelines.load.loader import load_batch as _load_batch

    return _load_batch(*args, **kwargs)
