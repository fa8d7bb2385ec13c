"""The command line: ``mtl`` (or ``python -m mtl_core``) and its subcommands; bad input exits 2 with one line."""

from __future__ import annotations

import importlib
import os
import sys

from mtl_core.cli.common import EXIT_BAD_INPUT, Parser, UsageError
from mtl_core.errors import MTLError

#: Modules that add a subcommand: each has ``register(subparsers)`` that sets ``func`` as a default.
SUBCOMMAND_MODULES: tuple[str, ...] = ("mtl_core.cli.datasets", "mtl_core.cli.train", "mtl_core.cli.predict",
                                      "mtl_core.cli.compare", "mtl_core.cli.export", "mtl_core.cli.tune",
                                      "mtl_core.cli.runs")


def build_parser(prog: str = "mtl") -> Parser:
    """The full argument parser."""
    parser = Parser(prog=prog, description="MTL Playground: multi-task learning from the shell.",
                    epilog=f"Run `{prog} COMMAND --help` for a command's options.")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND", parser_class=Parser)
    for module in SUBCOMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None, prog: str = "mtl") -> int:
    """Run the CLI; returns the exit status."""
    try:
        parser = build_parser(prog)
        args = parser.parse_args(argv)
        if args.command is None:
            # A bare `mtl` is a question, not a typo: answer with the command list (exit 2: nothing ran).
            print(parser.format_help(), end="")
            return EXIT_BAD_INPUT
        return args.func(args)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except MTLError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`mtl datasets | head`): no traceback; point stdout at devnull so that
        # Python's final flush does not raise again (the recipe of the signal module's docs).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
