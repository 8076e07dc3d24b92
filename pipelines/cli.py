"""`python -m pipelines ...`: a thin command layer over the library.

Each command lives next to the library code it wraps, in a module with `add_parser(sub)` that adds
its subparser and sets `run` (args -> exit status). Exit status: 0 success, 1 the command ran but
something was refused (e.g. a rejected file), 2 usage or configuration error. Errors are one line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from pipelines.errors import CommandError, PipelineError, UsageError  # noqa: F401 (re-exported)

# One line per command module; each defines add_parser(sub).
COMMAND_MODULES = [
    "pipelines.load.cli",
    "pipelines.warehouse.cli",
    "pipelines.generate.cli",
    "pipelines.metrics.cli",
    "pipelines.plan.cli",
    "pipelines.boardpack.cli",
    "pipelines.users.cli",
]


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + message
        raise UsageError(f"{self.prog}: {message}")


def parser() -> argparse.ArgumentParser:
    root = Parser(prog="python -m pipelines", description="Clinic analytics pipelines")
    sub = root.add_subparsers(dest="command", parser_class=Parser, required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return root


def fraction(text: str) -> float:
    """argparse type: a number between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        return args.run(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the file system said no: permissions, a folder where a file belongs, a full disk
        print(f"error: {_os_problem(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was published", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line for the user; details on request
        if os.environ.get("CLINIC_ANALYTICS_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              "(set CLINIC_ANALYTICS_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


def _os_problem(exc: OSError) -> str:
    """'PATH: permission denied' in one line, from what the operating system reported."""
    what = (exc.strerror or str(exc) or type(exc).__name__).splitlines()[0]
    what = what[:1].lower() + what[1:]
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    return f"{' -> '.join(paths)}: {what}" if paths else what
