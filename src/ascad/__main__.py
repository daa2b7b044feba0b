"""``python -m ascad``: the same as the ``ascad`` command."""

from ascad.cli import run

run()
