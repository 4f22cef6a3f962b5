"""`python -m ftcore` runs the same CLI as the `ftcore` console script."""

from ftcore.cli import main

raise SystemExit(main())
