"""
Fake ``docker`` and ``sbx`` executables backed by the simulated world.

They let the real adapters run end to end (real processes, pipes,
signals, timeouts) on a machine without Docker, and let an operator
rehearse the ``sandwarden`` CLI offline.

Installing::

    from sandwarden.simulator.fakes import FakeTools
    tools = FakeTools(tmp_path, time_scale=0.01)   # bin/docker, bin/sbx
    env = tools.environment()       # PATH with the fakes first, and
                                    # SANDWARDEN_FAKE_STATE, ..._TIME_SCALE
    tools.add_sandbox("main", workspace)            # logged in, running
    tools.queue_reply("main", Plan(Behaviour.STALL))
    subprocess.run(["docker", "sandbox", "ls", "--json"], env=env)

``install_fakes(bin_dir, state_file)`` does only the installing; from a
shell, ``python -m sandwarden.simulator.fakes DIR`` installs into DIR and
prints the ``export`` lines.

Environment (read by the fakes):

- ``SANDWARDEN_FAKE_STATE``: the state file (the launchers default it to
  the file they were installed with).
- ``SANDWARDEN_FAKE_TIME_SCALE``: multiplies scripted delays (default 1).
- ``SANDWARDEN_FAKE_LATENCY``: seconds each ``docker``/``sbx`` command
  line sleeps before it starts (default 0), standing for a real tool's
  wait on its VM; ``bench/warden.py`` uses it for its labelled
  "emulated latency" figure.
- ``SANDWARDEN_FAKE_CLAUDE``: a real claude binary; ``exec ... claude``
  then runs it (cwd the workspace, ``IS_SANDBOX=1``) instead of a script.

The state file holds the world (``sandwarden.simulator.world``) and the
fakes' settings; every invocation locks it, reads, writes it back
atomically and unlocks, and no lock is held while a reply plays.

``FakeTools`` controls (all take effect for the next invocation):
``add_sandbox``, ``queue_reply``, ``set_daemon(up=, wedged=)``,
``set_image_store(up=)``, ``set_plugin(present=)``,
``set_generation(docker=, sbx=, version=)``, ``expire_login``,
``use_api_key``, ``log_out``, ``set_head``, ``set_status``,
``add_secret``, and ``change()`` for anything else. Inspection:
``world()``, ``sandboxes()``, ``images()``, ``alive(name)`` (the
in-sandbox processes still running, after pruning ended ones).

What a command inside a sandbox does (both tools):

- ``claude ...`` plays ``sandwarden.simulator.claude.plan_claude``'s
  script (login state, queued plans, sessions) with scaled real delays,
  or runs the real claude named by ``SANDWARDEN_FAKE_CLAUDE``;
- ``git rev-parse HEAD`` answers from the sandbox's ``heads`` when they
  cover the directory, else runs git;
- anything else runs for real on the host in the ``-w`` directory, so the
  in-sandbox clean-up script (``sh -c ... sandwarden-stop <id>``) works.

The command runs detached from the client (its own session) and carries
the ``-e`` variables (``SANDWARDEN_RUN``) in its environment: killing the
client leaves it alive, exactly like the real tools; ``alive()`` shows it
until the clean-up script, ``stop`` or ``rm`` ends it.

Generations: ``DockerGeneration.LEGACY`` (container table, only ``run``,
``ls``, ``rm``, ``version``; says v0.6.0), ``G1`` (``ls --json`` under
``vms``; v0.11.0, no ``save`` when set before v0.10.1), ``G2`` (under
``sandboxes``, v0.12.0, the default); ``SbxGeneration.EARLY``
(``Client Version:`` lines) and ``CURRENT``. The switch semantics are in
the ``docker`` and ``sbx`` modules' docstrings.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandwarden.simulator.fakes.install import FakeTools, install_fakes
    from sandwarden.simulator.fakes.state import (
        CLAUDE_ENV,
        LATENCY_ENV,
        STATE_ENV,
        TIME_SCALE_ENV,
        DockerGeneration,
        FakeSettings,
        FakeState,
        SbxGeneration,
        StateFile,
    )

__all__ = [
    "CLAUDE_ENV",
    "LATENCY_ENV",
    "STATE_ENV",
    "TIME_SCALE_ENV",
    "DockerGeneration",
    "FakeSettings",
    "FakeState",
    "FakeTools",
    "SbxGeneration",
    "StateFile",
    "install_fakes",
]

# Each public name and the module that defines it. Imported on first use:
# every fake command line imports this package, and most need neither
# the installer nor everything it imports.
_HOMES = {
    "CLAUDE_ENV": "state",
    "LATENCY_ENV": "state",
    "STATE_ENV": "state",
    "TIME_SCALE_ENV": "state",
    "DockerGeneration": "state",
    "FakeSettings": "state",
    "FakeState": "state",
    "FakeTools": "install",
    "SbxGeneration": "state",
    "StateFile": "state",
    "install_fakes": "install",
}


def __getattr__(name: str) -> object:
    """Import a public name on first use, then keep it in the module."""
    module = _HOMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value

    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
