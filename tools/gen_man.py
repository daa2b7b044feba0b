"""Write docs/ascad.1, the man page, from the command-line parser (ascad.commands.manpage).

Run after changing an option or a command: ``.venv/bin/python tools/gen_man.py``. The wheel
installs the page as share/man/man1/ascad.1; tests/e2e/test_manpage.py fails when the committed
page is not what the parser gives.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ascad import __version__
from ascad.cli import DOC_OF, EXIT_STATUS, build_parser
from ascad.commands.manpage import render_man

PAGE = Path(__file__).resolve().parent.parent / "docs" / "ascad.1"


def generate() -> str:
    """The man page text for the current parser."""
    return render_man(build_parser(None), version=__version__, exit_status=EXIT_STATUS, docs=DOC_OF)


def main() -> int:
    PAGE.write_text(generate(), encoding="utf-8")
    print(f"wrote {PAGE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
