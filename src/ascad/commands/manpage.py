"""The ``ascad(1)`` man page, generated from the command-line parser.

``tools/gen_man.py`` writes it to ``docs/ascad.1`` (the wheel installs it as
``share/man/man1/ascad.1``); a test checks that the committed page is what the parser gives, so
the page never lists an option the command lacks or misses one it has.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping

ENVIRONMENT = (
    ("COLUMNS", "the width text output is laid out for (else the terminal's, or 80 when piped)"),
    ("NO_COLOR", "no colour, whatever the terminal (--color always still colours)"),
    ("ASCAD_TOKEN", "bearer token for a peer's agent (http:// sources), when no --token-file"),
    ("GITLAB_TOKEN", "GitLab token for gitlab+ sources, when no --token-file"),
    ("ASCAD_PASSWORD", "the Aerospike password for --user, when no --password-file"),
    ("ASCAD_SETTINGS", "settings file ([compare]) for diff and fleet, when no --settings"),
    ("ASCAD_*", "every agent setting (check, agent): docs/settings.md"),
    ("ASCAD_DEBUG", "set to 1 for a traceback instead of 'internal error'"),
)

FILES = (
    ("/etc/ascad/ascad.toml", "the agent's settings; diff and fleet read its [compare] table"),
    ("/etc/ascad/token", "the fleet's bearer token (named by the settings' token_file)"),
    ("share/doc/ascad/", "the documentation, installed next to ascad (in its venv)"),
)


def roff(text: str) -> str:
    """Text escaped for roff: backslashes, leading dots and quotes, and hyphens in options."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def _usage(parser: argparse.ArgumentParser) -> str:
    """The parser's usage on one line, whatever the terminal's width."""
    fmt = argparse.HelpFormatter(parser.prog, width=100_000)
    fmt.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups, prefix="")
    return re.sub(r"\s+", " ", fmt.format_help()).strip()


def _option_line(action: argparse.Action) -> str:
    names = ", ".join(f"\\fB{roff(n)}\\fR" for n in action.option_strings)
    if action.nargs == 0:
        return names
    if action.choices:
        return f"{names} {{{','.join(str(c) for c in action.choices)}}}"
    metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    return f"{names} \\fI{roff(metavar)}\\fR"


def _help_text(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    text = action.help if isinstance(action.help, str) else ""
    if "%(" in text:
        text = text % {**vars(action), "prog": parser.prog}
    return re.sub(r"\s+", " ", text).strip()


def render_man(
    parser: argparse.ArgumentParser,
    *,
    version: str,
    exit_status: Mapping[str, str],
    docs: Mapping[str, str],
) -> str:
    """The whole man page (roff, ``man -l`` reads it) for the full parser."""
    out = [
        f'.TH ASCAD 1 "" "ascad {version}" "User Commands"',
        ".nh",  # no hyphenation: options and paths are never split
        ".SH NAME",
        "ascad \\- Aerospike config anomaly detector: peer, golden and runtime drift",
        ".SH SYNOPSIS",
        ".B ascad",
        "\\fICOMMAND\\fR [\\fIoptions\\fR] ...",
        ".br",
        ".B ascad",
        "\\fB\\-\\-version\\fR | \\fB\\-h\\fR",
        ".SH DESCRIPTION",
        roff(
            "ascad finds every real difference in a fleet of Aerospike nodes' configuration: a "
            "node's aerospike.conf against the other nodes' (peer drift), against the golden conf "
            "in git (golden drift), and against what the running server reports (runtime drift). "
            "Units, order, comments and defaults never count; per-node values (node ids, "
            "addresses, seeds) are expected to differ between nodes."
        ),
        ".PP",
        roff(
            "Text output is grouped by stanza, coloured on a terminal and laid out for its width; "
            "--format json gives the documented JSON of diff, fleet, check and show."
        ),
        ".SH COMMANDS",
    ]
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for name, sub in action.choices.items():
            out.append(f".SS ascad {name}")
            out.append(f"\\fB{roff(_usage(sub))}\\fR")
            out.append(".PP")
            out.append(roff(sub.description or ""))
            for a in sub._actions:
                if a.help == argparse.SUPPRESS or isinstance(a, argparse._HelpAction):
                    continue
                out.append(".TP")
                if a.option_strings:
                    out.append(_option_line(a))
                else:
                    metavar = a.metavar if isinstance(a.metavar, str) else a.dest
                    out.append(f"\\fI{roff(metavar)}\\fR")
                out.append(roff(_help_text(sub, a)))
            out.append(".PP")
            out.append(roff(f"Exit status: {exit_status[name]}."))
            if name in docs:
                out.append(".br")
                out.append(roff(f"More: {docs[name]} in the documentation."))
    out += [".SH EXIT STATUS", roff("As diff(1): 0 nothing found, 1 something found, 2 trouble.")]
    out += [
        ".TP",
        "\\fB0\\fR",
        "nothing found (no differences, every check ok, every node identical)",
        ".TP",
        "\\fB1\\fR",
        "differences or problems found",
        ".TP",
        "\\fB2\\fR",
        roff(
            "trouble: could not run, bad input (one line on stderr naming the file and line, or "
            "the host and command), or an incomplete result (a fleet node could not be read: "
            "what was found is still printed)"
        ),
    ]
    out.append(".SH ENVIRONMENT")
    for var, text in ENVIRONMENT:
        out += [".TP", f"\\fB{roff(var)}\\fR", roff(text)]
    out.append(".SH FILES")
    for path, text in FILES:
        out += [".TP", f"\\fI{roff(path)}\\fR", roff(text)]
    out += [
        ".SH SEE ALSO",
        roff(
            "The documentation installed with ascad (share/doc/ascad/README.md and docs/ in its "
            "venv, e.g. /opt/ascad/share/doc/ascad/), ascad COMMAND --help, "
            "ascad completion bash|zsh|fish."
        ),
        ".PP",
        "\\fBdiff\\fR(1), \\fBasadm\\fR(1), \\fBasconfig\\fR(1)",
    ]
    return "\n".join(out) + "\n"
