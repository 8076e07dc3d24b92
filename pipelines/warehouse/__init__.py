"""The warehouse: versioned DuckDB files behind an atomically swapped pointer."""

__all__ = ["Warehouse", "WarehouseError", "connect_read_only", "resolve_version"]


def __getattr__(name: str):
    # Resolved on first use, not at import: the command line imports pipelines.warehouse.cli to build
    # its parser (`rebuild`), and building the parser must not import DuckDB (every command would pay).
    if name in __all__:
        from pipelines.warehouse import publish

        return getattr(publish, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
