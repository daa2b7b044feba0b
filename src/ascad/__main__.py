"""``python -m ascad``: the same as the ``ascad`` command."""

import sys

from ascad.cli import main

sys.exit(main())
