"""``python -m pumpsim``."""

from pumpsim.cli import main

raise SystemExit(main())
