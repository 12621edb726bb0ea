"""``python -m ferry_client``: the ``ferry`` command."""

from ferry_client.cli import main

raise SystemExit(main())
