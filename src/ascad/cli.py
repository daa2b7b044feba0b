"""`ascad` command line: dispatches to ``ascad.commands.<name>``.

Exit status everywhere, like diff(1): 0 nothing found, 1 differences or problems found, 2 could not
run or an incomplete result (each command's help says what each means for it: :data:`EXIT_STATUS`).
An :class:`~ascad.errors.AscadError` becomes one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
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
    "history": ("ascad.commands.history", "list the agent's findings: first seen, resolved"),
    "ack": ("ascad.commands.ack", "acknowledge a known difference in a baseline file"),
    "fix": ("ascad.commands.fix", "bring a running node back to its conf, or the conf to it"),
    "demo": ("ascad.commands.demo", "run a local emulated cluster and show ascad at work"),
    "emulator": ("ascad.commands.emulator", "run emulated Aerospike nodes on loopback"),
    "completion": (
        "ascad.commands.completion",
        "print a shell completion script (bash, zsh, fish)",
    ),
}


#: Each command's exit status, as its help and the man page state it (like diff(1): 0 nothing
#: found, 1 something found, 2 trouble).
EXIT_STATUS: dict[str, str] = {
    "diff": "0 no differences, 1 differences found, 2 could not run (a side could not be read)",
    "show": "0 printed, 2 could not run (the node could not be read)",
    "validate": "0 valid, 1 problems found, 2 could not run",
    "fleet": "0 all nodes identical (and equal to the golden), 1 drift, 2 incomplete (a node "
    "could not be read: what was found is still printed) or could not run",
    "check": "0 every check ok, 1 a check found drift, 2 a check could not run, bad settings, "
    "or --send-events could not deliver",
    "agent": "0 stopped by SIGTERM/SIGINT, after --once or a passing --check-config; 2 bad "
    "settings",
    "demo": "0 ascad found exactly the drift the demo injects (finding drift is the demo's "
    "success), 1 it found something else, 2 could not run",
    "emulator": "0 stopped by SIGTERM/SIGINT, 2 could not start",
    "history": "0 listed (also when there is nothing to list), 2 could not run (no or bad "
    "history store)",
    "ack": "0 the entry was added, 2 could not run (bad baseline, date or path)",
    "fix": "0 nothing to fix, or --apply/--write-back --in-place made the node and conf equal; "
    "1 differences remain (printed, not applied; or still different after --apply); 2 could "
    "not run or refused (an ambiguous difference)",
    "completion": "0 the script was printed, 2 unknown shell",
}

#: Which documents tell more about each command (paths under the documentation's root).
DOC_OF: dict[str, str] = {
    "diff": "docs/sources.md, docs/paths.md",
    "show": "docs/runtime-mapping.md",
    "validate": "docs/knowledge.md",
    "fleet": "docs/fleet.md",
    "check": "docs/agent.md, docs/settings.md",
    "agent": "docs/agent.md, docs/settings.md, docs/observability.md",
    "demo": "README.md",
    "emulator": "docs/emulator.md",
    "history": "docs/provenance.md",
    "ack": "docs/provenance.md",
    "fix": "docs/provenance.md",
    "completion": "README.md",
}

#: Commands whose output has a --format json, and where its schema is documented.
JSON_DOC: dict[str, str] = {
    "diff": "docs/json-schema.md",
    "fleet": "docs/fleet.md",
    "check": "docs/json-schema.md",
    "show": "docs/json-schema.md",
    "history": "docs/provenance.md",
}


@functools.cache
def docs_root() -> str | None:
    """The documentation's root directory on this machine (README.md and docs/): the one the
    wheel installs into the venv (``share/doc/ascad``), or a source checkout's; None when there
    is neither."""
    from pathlib import Path

    here = Path(__file__).resolve()
    for root in (Path(sys.prefix) / "share" / "doc" / "ascad", here.parents[2]):
        if (root / "docs" / "fleet.md").is_file() and (root / "README.md").is_file():
            return str(root)
    return None


def doc_links(names: str) -> str:
    """``docs/fleet.md, docs/agent.md`` as ``file://`` URLs of the files on this machine (so a
    terminal can open them), or as named in the source distribution when there are none."""
    from pathlib import Path

    root = docs_root()
    if root is None:
        return f"{names} in the ascad source distribution"
    return ", ".join((Path(root) / name.strip()).as_uri() for name in names.split(","))


def epilog(name: str) -> str:
    """A command's help epilog: exit status, --format json, where its docs are, the man page."""
    lines = [f"exit status: {EXIT_STATUS[name]}"]
    if name in JSON_DOC:
        lines.append(f"machine-readable output: --format json ({doc_links(JSON_DOC[name])})")
    lines.append(f"docs: {doc_links(DOC_OF[name])}; man ascad")
    return wrap_epilog(lines)


def wrap_epilog(lines: Sequence[str]) -> str:
    """Epilog lines wrapped to 79 columns between words (a URL is never split)."""
    import textwrap

    return "\n".join(
        textwrap.fill(
            line, 79, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
        )
        for line in lines
    )


def chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command named on the command line (the first word not starting with ``-``)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def wants_help(argv: Sequence[str]) -> bool:
    """True when the words ask for a help text (``-h``/``--help``), which shows an epilog."""
    return "-h" in argv or "--help" in argv


def build_parser(command: str | None = None, *, help_asked: bool = True) -> argparse.ArgumentParser:
    """The ``ascad`` parser: every sub-command is listed, and only ``command``'s module is
    imported to add its arguments (``ascad diff`` never loads the agent, aiohttp or Jinja2).
    ``command`` None builds every sub-command's arguments (for documentation and tests). The
    epilogs (exit status, where the docs are) are only ever shown by a help text, so none is built
    without ``help_asked``."""
    top_epilog = None
    if help_asked:
        top_epilog = wrap_epilog(
            [
                "exit status (every command, like diff(1)): 0 nothing found, 1 something found, "
                "2 trouble; each command's help says what each means for it",
                "machine-readable output: --format json (diff, fleet, check, show)",
                f"docs: {doc_links('README.md, docs/')}; man ascad; ascad COMMAND --help",
            ]
        )
    parser = argparse.ArgumentParser(
        prog="ascad",
        allow_abbrev=False,  # `--password X` must never be read as `--password-file X`
        description="Aerospike config anomaly detector: peer, golden and runtime drift.",
        epilog=top_epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ascad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            # only the named command's help can be shown: the others' epilogs are not built
            epilog=epilog(name) if command is None or (command == name and help_asked) else None,
            allow_abbrev=False,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        # build_parser itself, for the commands generated from the parser (completion)
        p.set_defaults(_module=module_name, _build_parser=build_parser)
        if command is None or command == name:
            _command_module(module_name).add_arguments(p)
    return parser


def _command_module(module_name: str) -> ModuleType:
    return importlib.import_module(module_name)


def one_line(text: str) -> str:
    """An error as one line: a file name or value with a newline or control character in it is
    shown escaped, so scripts reading stderr line by line never see half an error."""
    return printable(text)


def subcommand_parser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of sub-command ``name`` inside ``parser`` (built by :func:`build_parser`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]  # type: ignore[no-any-return]
    raise KeyError(name)


def unrecognized_message(sub: argparse.ArgumentParser, extras: Sequence[str]) -> str:
    """What the sub-command says about words it does not take: the unknown options only (a
    misspelt option shifts the positionals, so the stray value is not the user's mistake), with
    the nearest option it does take; else the extra arguments."""
    import difflib

    known = [o for a in sub._actions for o in a.option_strings if a.help != argparse.SUPPRESS]
    options = [w.split("=", 1)[0] for w in extras if w.startswith("-") and w != "-"]
    if not options:
        return f"unexpected argument{'s' if len(extras) != 1 else ''}: {' '.join(extras)}"
    parts = []
    for option in dict.fromkeys(options):
        if option == "--json":
            parts.append(f"unrecognized option {option} (use --format json)")
            continue
        near = difflib.get_close_matches(option, known, n=1, cutoff=0.6)
        parts.append(
            f"unrecognized option {option}" + (f" (did you mean {near[0]}?)" if near else "")
        )
    return "; ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit status (2 for an AscadError, printed as one line)."""
    words = list(sys.argv[1:] if argv is None else argv)
    from ascad.commands.common import password_flags

    words = password_flags(words)  # `-P SOURCE`: the prompt flag, as in Aerospike's tools
    command = chosen_command(words)
    parser = build_parser(command or "", help_asked=wants_help(words))
    args, extras = parser.parse_known_args(words)
    if extras:
        # From the sub-command's parser: its usage, and only the words that are wrong.
        sub = subcommand_parser(parser, args.command) if command else parser
        sub.error(unrecognized_message(sub, extras))
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
