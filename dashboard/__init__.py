"""The Streamlit app: query layer (dashboard.queries), chart builders (dashboard.charts), pages."""

from threadpoolctl import threadpool_limits

# One BLAS thread for the whole process. The linear algebra here is small (the suppression audit factorises
# matrices of a few hundred rows), where OpenBLAS's second thread gains nothing, quiet; but beside another busy
# process on a 2-core machine its threads spin against each other: two audits at once took 33 s each with 2
# threads and 9 s with 1 (28 Nov 2026). Streamlit's sessions and DuckDB keep the cores busy enough.
threadpool_limits(limits=1, user_api="blas")
