"""Allow ``python -m sandwarden``."""

import sys

from sandwarden.cli import main

sys.exit(main())
