"""`python -m async_pitfalls_lint` runs the command-line interface."""

from async_pitfalls_lint.cli import main

raise SystemExit(main())
