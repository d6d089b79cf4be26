"""A fake ``sbx``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one fake ``sbx`` command line; return the exit status."""
    return 1


if __name__ == "__main__":
    sys.exit(main())
