"""``python -m tui --server … --token …``."""

from tui.app import main

raise SystemExit(main())
