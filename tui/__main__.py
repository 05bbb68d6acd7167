"""``python -m tui --server … --token …``."""

import gc

gc.disable()  # while the inbox loads, as ``ttydesk`` does (see backend/cli.py cmd_tui)
from tui.app import main  # noqa: E402

raise SystemExit(main())
