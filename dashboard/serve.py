"""Start the app: `python -m dashboard.serve [streamlit options]`, what `make run` does.

It is `streamlit run streamlit_app.py` plus a warm-up, so that the first visitor after a start does
not pay for it. Before the server starts, this process imports what every page needs (pandas,
Plotly, the dashboard's modules, statsmodels for Planning; about 1.4 s on the 2-core machine) and
draws one figure of each kind Plotly loads lazily. Then, once Streamlit's runtime is up, a background thread prepares the results
the first page reads for the default selection (dashboard.prefetch.default_selection). The server
listens meanwhile: a visitor who comes before that is over simply computes what is not ready yet.

Streamlit's web page is served with the first page's element scripts announced in its head
(dashboard.static_preload), so a new browser fetches Plotly's 4.7 MB while it loads Streamlit's frame,
and every connection sends without Nagle's delay (no_delay_sockets: 44 ms to 1.4 ms per file).

The imports are not done in the background: Plotly looks its optional libraries up in sys.modules
without taking the import lock, so pandas half-imported by another thread crashed Streamlit's own
start ("partially initialized module 'pandas' has no attribute 'Series'").

Options after the module name go to `streamlit run` unchanged (e.g. --server.port 8502).
"""

from __future__ import annotations

import gc
import importlib
import logging
import socket
import sys
import threading
import time
from pathlib import Path

from dashboard import static_preload

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"
PRELOAD = (
    "pandas", "plotly.graph_objects", "plotly.io", "duckdb",
    "dashboard.auth", "dashboard.ui", "dashboard.queries", "dashboard.plan_queries", "dashboard.headlines",
    "dashboard.charts.catalog", "dashboard.prefetch", "dashboard.exports.charts",
    # What the first script run still imported on its own (sys.modules before and after a first visit):
    # PIL for the favicon of st.set_page_config, the definitions check of every page's header, the
    # capacity inputs, Streamlit's icon names and magic, pyarrow's pandas bridge.
    "PIL.Image", "pipelines.warehouse.rebuild", "dashboard.capacity_inputs", "streamlit.material_icon_names",
    "streamlit.runtime.scriptrunner.magic_funcs", "pyarrow.pandas_compat",
)
RUNTIME_WAIT_SECONDS = 120


def _preload() -> None:
    from dashboard import warmup

    # Declaring an st.cache_data function before the runtime exists logs "No runtime found, using
    # MemoryCacheStorageManager": only its parameters are checked then (the cache itself is made on
    # the first call, inside the running server), so the line is noise on every start.
    caching_log = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    level = caching_log.level
    caching_log.setLevel(logging.ERROR)
    try:
        # warmup.SLOW_IMPORTS too (statsmodels): streamlit_app.py would otherwise import them in a
        # background thread during the first page, the kind of concurrent import the docstring warns about.
        for name in (*PRELOAD, *warmup.SLOW_IMPORTS):
            importlib.import_module(name)
    finally:
        caching_log.setLevel(level)
    from PIL import Image

    Image.preinit()  # the image plugins, which the favicon's format check would import on the first visit
    import plotly.graph_objects as go

    # Plotly imports a trace type's validators when a figure first uses it.
    figure = go.Figure([go.Bar(x=[1], y=[1]), go.Scatter(x=[1], y=[1]), go.Heatmap(z=[[1]])])
    figure.update_layout(title="warm-up", shapes=[{"type": "rect", "x0": 0, "x1": 1, "y0": 0, "y1": 1}])
    figure.to_json()


def no_delay_sockets() -> bool:
    """Make Streamlit's server send every response at once (TCP_NODELAY on each connection).

    Streamlit binds its listening socket itself, as `socket.socket(family)`, whose protocol number
    reads 0; asyncio sets TCP_NODELAY only on connections whose socket says IPPROTO_TCP, so it never
    does. Each response then goes out in two writes (headers, body), and on a kept-alive connection
    the body waits for the browser's delayed acknowledgement of the headers: 40 ms per request. A new
    browser asks for about 100 scripts over 6 connections, so the page waited about 0.7 s for files
    the server had in 2 ms each (measured with curl and in headless Chromium). Here the bound socket
    is re-wrapped so that it reads IPPROTO_TCP (Python reads it back from the descriptor), and gets
    TCP_NODELAY itself, which Linux passes on to the connections it accepts. Returns False when this
    Streamlit binds differently (nothing changed then)."""
    try:
        from streamlit.web.server.starlette import starlette_server
    except ImportError:
        return False
    original = getattr(starlette_server, "_bind_socket", None)
    if original is None or getattr(original, "_no_delay", False):
        return original is not None

    def bind(address: str, port: int, backlog: int) -> socket.socket:
        sock = original(address, port, backlog)
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        inheritable = sock.get_inheritable()
        wrapped = socket.socket(fileno=sock.detach())
        wrapped.setblocking(False)
        wrapped.set_inheritable(inheritable)
        return wrapped

    bind._no_delay = True
    starlette_server._bind_socket = bind
    return True


def _runtime_started() -> bool:
    from streamlit.runtime import Runtime

    return Runtime.exists()


def _first_element_check() -> None:
    """Streamlit checks once per process, on the first element any page draws, whether it runs in a
    REPL, with inspect.stack(): about 0.4 s here (it resolves the file of every loaded module). Done now,
    with the runtime up (so it prints nothing), instead of inside the first visitor's page. A private
    function: if a later Streamlit renames it, only this part of the warm-up is lost."""
    try:
        from streamlit import delta_generator

        delta_generator._maybe_print_use_warning()
    except Exception:  # noqa: BLE001
        pass


def freeze_long_lived() -> None:
    """Keep the objects that live as long as the server out of every later garbage collection.

    Streamlit runs a full collection after every script run (`runner.postScriptGC`), and a full
    collection walks every tracked object: the modules, Plotly's validators, pandas, statsmodels, the
    cached results, about 190,000 objects after the imports alone. That took 90 ms of the GIL per
    page and per widget change here, during which the server's event loop could not send the page's
    last messages. Objects alive now are moved to the permanent generation (gc.freeze): a collection
    then walks only what later runs create, which takes well under a millisecond. Cycles already
    unreachable are collected first, so that nothing unreachable is frozen; reference counting still
    frees frozen objects that lose their last reference."""
    gc.collect()
    gc.freeze()


WARMED_UP = "warm-up done"  # the start of the line the server prints when its warm-up is over


def warm_up(runtime_started=_runtime_started, wait_seconds: float = RUNTIME_WAIT_SECONDS,
            preload: bool = True) -> str:
    """Imports (unless done already: `preload=False`), then, once the runtime exists so that results go
    to its caches, the first page's results. Returns one line for the server's output: when it was
    done, or why it stopped early."""
    started = time.perf_counter()
    try:
        if preload:
            _preload()
        deadline = time.monotonic() + wait_seconds
        while not runtime_started():
            if time.monotonic() > deadline:
                return f"warm-up stopped: Streamlit's runtime did not start within {wait_seconds:g} s"
            time.sleep(0.05)
        _first_element_check()
        from dashboard import auth, prefetch

        if not auth.auth_config().configured:
            auth.demo_refusal()  # demo mode's check of the warehouse (hashes data_samples/ once per process)
        prefetch.default_selection()
        freeze_long_lived()  # the warm-up's cached results and Streamlit's started runtime too
    except Exception as exc:  # noqa: BLE001 - a warm-up only: the pages compute (and report) everything themselves
        return f"warm-up stopped ({type(exc).__name__}); pages compute their results when opened"
    return f"{WARMED_UP} in {time.perf_counter() - started:.1f} s: the first page's results are ready"


def _warm_up_and_say() -> None:
    print(f"  {warm_up(preload=False)}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    _preload()  # in this thread, before Streamlit starts (see the module's docstring)
    freeze_long_lived()  # before the warm-up thread starts: it freezes again when it is over
    static_preload.install()
    no_delay_sockets()
    threading.Thread(target=_warm_up_and_say, name="warm-up", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *args]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
