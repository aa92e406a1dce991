"""`python -m tests.chaos [full|short|calm]`: one chaos run, its table, exit 1 on failure."""

from tests.chaos.harness import main

raise SystemExit(main())
