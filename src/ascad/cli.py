"""`ascad` command line: dispatches to ``ascad.commands.<name>``.

Exit status everywhere, like diff(1): 0 nothing found, 1 differences or problems found, 2 could not
run. An :class:`~ascad.errors.AscadError` becomes one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from ascad import __version__
from ascad.errors import AscadError, printable, shorten

# name -> (module, one-line help). A module is imported only when its command is named.
COMMANDS: dict[str, tuple[str, str]] = {
    "diff": ("ascad.commands.diff", "compare two configs (files, nodes, peers, git)"),
    "show": ("ascad.commands.show", "print a running node's configuration as aerospike.conf"),
    "validate": ("ascad.commands.validate", "check a conf against a server version's parameters"),
    "fleet": ("ascad.commands.fleet", "compare many nodes at once and group them"),
    "check": ("ascad.commands.check", "run one agent cycle in the foreground"),
    "agent": ("ascad.commands.agent", "run the ascad daemon"),
    "demo": ("ascad.commands.demo", "run a local emulated cluster and show ascad at work"),
    "emulator": ("ascad.commands.emulator", "run emulated Aerospike nodes on loopback"),
}


EPILOG = (
    "exit status: 0 nothing found, 1 differences or problems found, 2 could not run\n"
    "docs: README.md and docs/ in the ascad repository"
)


def chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command named on the command line (the first word not starting with ``-``)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``ascad`` parser: every sub-command is listed, and only ``command``'s module is
    imported to add its arguments (``ascad diff`` never loads the agent, aiohttp or Jinja2).
    ``command`` None builds every sub-command's arguments (for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="ascad",
        allow_abbrev=False,  # `--password X` must never be read as `--password-file X`
        description="Aerospike config anomaly detector: peer, golden and runtime drift.",
    )
    parser.add_argument("--version", action="version", version=f"ascad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EPILOG,
            allow_abbrev=False,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(_module=module_name)
        if command is None or command == name:
            _command_module(module_name).add_arguments(p)
    return parser


def _command_module(module_name: str) -> ModuleType:
    return importlib.import_module(module_name)


def one_line(text: str) -> str:
    """An error as one line: a file name or value with a newline or control character in it is
    shown escaped, so scripts reading stderr line by line never see half an error."""
    return printable(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (2 for an AscadError, printed as one line)."""
    words = list(sys.argv[1:] if argv is None else argv)
    from ascad.commands.common import password_flags

    words = password_flags(words)  # `-P SOURCE`: the prompt flag, as in Aerospike's tools
    parser = build_parser(chosen_command(words) or "")
    args = parser.parse_args(words)
    try:
        return int(_command_module(args._module).run(args))
    except AscadError as exc:
        problems = getattr(exc, "problems", None)
        if problems and len(problems) > 1:  # several independent mistakes: one line each
            print("ascad: invalid settings:", file=sys.stderr)
            for problem in problems:
                print(f"  {one_line(str(problem))}", file=sys.stderr)
        else:
            print(f"ascad: {one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ascad: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug or an input ascad did not foresee: never a traceback, never 1
        if os.environ.get("ASCAD_DEBUG"):
            raise
        text = shorten(f"{exc.__class__.__name__}: {exc}")
        print(f"ascad: internal error: {one_line(text)} (please report it)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
