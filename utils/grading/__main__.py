"""``python -m utils.grading``: see utils.grading.cli."""

import sys

from .cli import main

sys.exit(main())
