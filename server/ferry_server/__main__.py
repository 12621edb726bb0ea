"""``python -m ferry_server``: the same as ``ferry serve``."""

import sys

from ferry_server.cli import main

sys.exit(main())
