"""`python -m inngest ...` runs the same command line as the `inngest` script."""

from __future__ import annotations

from inngest.cli.main import main

if __name__ == "__main__":
    main()
