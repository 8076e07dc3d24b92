"""Import what a later page needs while the first one is being read, once per server process.

statsmodels (the planning page's demand model) takes about 0.7 s to import on this machine; imported
on the first visit of the Planning page, that second is added to the page's first drawing. A daemon
thread started on the first script run imports it in the background instead: by the time someone
opens Planning it is usually already in sys.modules, and if not, Python's import lock makes the page
wait for the import in progress rather than start a second one.
"""

from __future__ import annotations

import importlib
import threading

import streamlit as st

# Modules that pages import lazily and that are slow to import.
SLOW_IMPORTS = ("statsmodels.tsa.statespace.structural",)


def _import_all() -> None:
    for name in SLOW_IMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:  # the page that needs it reports the problem where it is used
            pass


@st.cache_resource(show_spinner=False)
def start() -> threading.Thread:
    """Start the background imports (the first call in this process does; later calls return it)."""
    thread = threading.Thread(target=_import_all, name="warm-imports", daemon=True)
    thread.start()
    return thread
