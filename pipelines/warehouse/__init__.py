"""The warehouse: versioned DuckDB files behind an atomically swapped pointer."""

from pipelines.warehouse.publish import (
    Warehouse,
    WarehouseError,
    connect_read_only,
    resolve_version,
)

__all__ = ["Warehouse", "WarehouseError", "connect_read_only", "resolve_version"]
