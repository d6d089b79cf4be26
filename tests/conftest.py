"""
Settings every test shares.

Hypothesis's per-example deadline measures wall time, which a loaded
two-core CI machine stretches at random; our tests assert behaviour, so
the deadline is off. Under CI the examples are derandomised, so a run
that passed once passes again and a failure reproduces.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")
