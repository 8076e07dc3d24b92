"""The background imports: in a fresh interpreter, the planning page's slow modules are loaded by the
warm-up thread and a second start does not start another thread."""

import subprocess
import sys

from dashboard import warmup

_SCRIPT = """
import sys
from dashboard import warmup
names = warmup.SLOW_IMPORTS
before = [n in sys.modules for n in names]
first = warmup.start()
first.join(120)
print(before, [n in sys.modules for n in names], first is warmup.start(), first.is_alive())
"""


def test_warm_up_imports_the_slow_modules_once_per_process():
    out = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=True).stdout
    line = out.strip().splitlines()[-1]
    assert line == f"{[False] * len(warmup.SLOW_IMPORTS)} {[True] * len(warmup.SLOW_IMPORTS)} True False"


def test_the_demand_model_module_is_warmed():
    # The planning page's forecast imports statsmodels' UnobservedComponents lazily (pipelines/plan/demand.py).
    import inspect

    from pipelines.plan import demand

    source = inspect.getsource(demand)
    assert all(f"from {name} import" in source for name in warmup.SLOW_IMPORTS)
