"""Exceptions the command line turns into one clear line (kept import-light on purpose: the
`metrics` command must start fast, so nothing here may import Great Expectations or pandas)."""


class PipelineError(Exception):
    """Base: the message is one line a person can act on."""


class LoadError(PipelineError):
    """The load as a whole cannot run (bad folder, wrong key, ...)."""


class ConfigError(PipelineError):
    """A setting has a value the product cannot use."""


class KeyProblem(PipelineError):
    """The pseudonymization key cannot be used."""


class WarehouseError(PipelineError):
    """The warehouse cannot be used as asked."""


class UsageError(PipelineError):
    """Bad command-line input."""


class CommandError(PipelineError):
    """The command cannot run as asked (missing warehouse, bad filter...)."""
