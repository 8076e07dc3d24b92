"""Figures to PNG / SVG / PDF bytes through Kaleido and Debian's Chromium, with one warm browser.

The browser is started lazily by the first export of the process (about 1.5 s), kept for every later
one (about 0.15 s an image) and shut down at exit. Kaleido's sync server takes one request at a time
and is not safe for concurrent callers, so every call goes through one lock (Streamlit runs each
session, and each deferred download, in its own thread). Nothing is downloaded at run time: MathJax
is off and plotly.js comes from the plotly package.
"""

from __future__ import annotations

import atexit
import threading
import weakref

import plotly.graph_objects as go
import plotly.io as pio

FORMATS = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
# The app's font (Source Sans) is a web font of the browser page; exports use Liberation Sans, the
# metric twin of Arial that Debian's Chromium depends on (fonts-liberation): a TrueType font, so PDFs
# embed it with its Unicode map (text stays searchable and copyable) and every machine has it offline.
EXPORT_FONT_FAMILY = "'Liberation Sans', Arial, Helvetica, sans-serif"
DEFAULT_WIDTH = 1000
PNG_SCALE = 2

# Kaleido gives up on one image after this many seconds. An ordinary chart takes well under one; only a
# figure of hundreds of thousands of points gets near it, and trying it again would only wait as long.
TIMEOUT_SECONDS = 90


class RenderTimeout(Exception):
    """A figure took longer to draw than TIMEOUT_SECONDS; the message says how big it was and what to do."""


_lock = threading.Lock()
_started = False


class _ExitOrder:
    """An object that lives as long as the process, for the finalizer that fixes the order of exit hooks."""


_EXIT_ORDER = _ExitOrder()


def _remove_temp_dirs_after_shutdown() -> None:
    """Make the browser stop at exit before Python removes temporary directories.

    weakref.finalize registers its exit hook (which removes the TemporaryDirectory objects still alive,
    e.g. Chromium's profile directory) with the first finalizer of the process. In a board-pack run that
    first finalizer was the profile directory itself, made by Kaleido's server thread after `shutdown`
    was registered; exit hooks run last in, first out, so the directory was removed while Chromium was
    still running and writing into it: "OSError: [Errno 39] Directory not empty: 'Default'" on stderr
    after a successful run. A finalizer made here, before the server starts and `shutdown` is registered,
    puts that hook first, so it runs last."""
    weakref.finalize(_EXIT_ORDER, lambda: None)


def _start() -> None:
    global _started
    if _started:
        return
    import kaleido

    # plotly's to_image passes these per call, which a running server ignores with a warning
    pio.defaults.headers = None
    pio.defaults.mathjax = None
    _remove_temp_dirs_after_shutdown()
    kaleido.start_sync_server(mathjax=False, timeout=TIMEOUT_SECONDS, silence_warnings=True)
    atexit.register(shutdown)
    _started = True


def shutdown() -> None:
    """Stop the warm browser (at exit; safe to call twice)."""
    global _started
    with _lock:
        if not _started:
            return
        import kaleido

        kaleido.stop_sync_server(silence_warnings=True)
        _started = False


def running() -> bool:
    return _started


def to_bytes(fig: go.Figure, fmt: str, *, width: int | None = None, height: int | None = None,
             scale: float | None = None) -> bytes:
    """One figure as PNG (2x scale unless told), SVG or PDF. Width and height in CSS pixels
    (a PDF page is width x height at 96 per inch)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; one of {', '.join(FORMATS)}")
    fig = go.Figure(fig)
    fig.update_layout(font_family=EXPORT_FONT_FAMILY, hoverlabel_font_family=EXPORT_FONT_FAMILY)
    fig_dict = fig.to_dict()
    layout = fig_dict.get("layout", {})
    opts = dict(
        format=fmt,
        width=int(width or layout.get("width") or DEFAULT_WIDTH),
        height=int(height or layout.get("height") or 420),
        scale=scale if scale is not None else (PNG_SCALE if fmt == "png" else 1),
    )
    import kaleido

    with _lock:
        _start()
        try:
            return kaleido.calc_fig_sync(fig_dict, opts=opts)
        except TimeoutError:  # too big to draw: a fresh browser (the old one may still be busy), no second try
            _restart()
            raise RenderTimeout(f"drawing a chart of {_points(fig_dict):,} points took longer than "
                                f"{TIMEOUT_SECONDS:g} s; choose a shorter period or fewer clinics") from None
        except Exception:  # a browser that died: start a fresh one and try once more
            _restart()
            return kaleido.calc_fig_sync(fig_dict, opts=opts)


def _restart() -> None:
    import kaleido

    kaleido.stop_sync_server(silence_warnings=True)
    kaleido.start_sync_server(mathjax=False, timeout=TIMEOUT_SECONDS, silence_warnings=True)


def _points(fig_dict: dict) -> int:
    """How many data points the figure draws (per trace, the most of its x, y, z or values)."""
    def count(value) -> int:
        if value is None or isinstance(value, (str, bytes, dict)):
            return 0
        if hasattr(value, "size") and hasattr(value, "shape"):  # a numpy array
            return int(value.size)
        if isinstance(value, (list, tuple)):
            return sum(count(v) if isinstance(v, (list, tuple)) or hasattr(v, "shape") else 1 for v in value)
        return 0

    return sum(max(count(trace.get(key)) for key in ("x", "y", "z", "values")) for trace in fig_dict.get("data", []))
