"""
``python -m sandwarden.simulator.fakes DIR``: install the fakes for a
rehearsal and print the shell lines that put them first on PATH.

An existing state file in DIR is kept, so a rehearsal resumes.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from sandwarden.simulator.fakes.install import install_fakes
from sandwarden.simulator.fakes.state import STATE_ENV


def main(argv: list[str]) -> int:
    """Install into the one directory named; print export lines."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m sandwarden.simulator.fakes DIR\n")
        return 2
    root = Path(argv[0]).absolute()
    state = install_fakes(
        root / "bin", root / "fake-state.json", replace=False
    )
    bin_dir = shlex.quote(str(root / "bin"))
    sys.stdout.write(
        f'export PATH={bin_dir}:"$PATH"\n'
        f"export {STATE_ENV}={shlex.quote(str(state.path))}\n",
    )

    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
