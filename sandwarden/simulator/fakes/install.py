"""
Putting the fakes on PATH, and ``FakeTools`` to arrange and inspect them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from sandwarden.simulator.fakes.sandboxes import (
    default_name,
    is_alive,
    prune_processes,
)
from sandwarden.simulator.fakes.state import (
    STATE_ENV,
    TIME_SCALE_ENV,
    DockerGeneration,
    FakeSettings,
    FakeState,
    SbxGeneration,
    StateFile,
)
from sandwarden.simulator.world import (
    Login,
    LoginMethod,
    Plan,
    Process,
    Sandbox,
    World,
)

__all__ = ["FakeTools", "install_fakes"]

_Generation = TypeVar("_Generation", DockerGeneration, SbxGeneration)

_TOOLS = {"docker": "docker", "sbx": "sbx"}


def install_fakes(
    bin_dir: Path,
    state_file: Path,
    *,
    world: World | None = None,
    settings: FakeSettings | None = None,
    replace: bool = True,
) -> StateFile:
    """
    Write ``docker`` and ``sbx`` launchers into ``bin_dir``; seed the state.

    The launchers run this interpreter (so they work inside a venv) and
    default ``SANDWARDEN_FAKE_STATE`` to ``state_file``; the environment
    variable, when set, wins. With ``replace`` off an existing state file
    is kept (a rehearsal resumes where it stopped).
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    state_file = state_file.absolute()
    for name, module in _TOOLS.items():
        launcher = bin_dir / name
        launcher.write_text(
            f"#!{sys.executable}\n"
            "import os\n"
            "import sys\n\n"
            f"os.environ.setdefault({STATE_ENV!r}, {str(state_file)!r})\n"
            f"from sandwarden.simulator.fakes.{module} import main\n\n"
            "sys.exit(main())\n",
            encoding="utf-8",
        )
        launcher.chmod(0o755)
    state = StateFile(state_file)
    if replace or not state_file.exists():
        state.create(FakeState(world or World(), settings or FakeSettings()))

    return state


class FakeTools:
    """
    Fake ``docker`` and ``sbx`` installed under ``root``, with controls.

    A plain class, so that each test suite builds its own fixture::

        tools = FakeTools(tmp_path, time_scale=0.01)
        tools.add_sandbox("main", workspace)
        subprocess.run(["docker", "sandbox", "ls"], env=tools.environment())
    """

    def __init__(
        self,
        root: Path,
        *,
        world: World | None = None,
        settings: FakeSettings | None = None,
        time_scale: float = 1.0,
    ) -> None:
        self.bin_dir = root / "bin"
        self.state_file = install_fakes(
            self.bin_dir,
            root / "fake-state.json",
            world=world,
            settings=settings,
        )
        self.time_scale = time_scale

    def environment(
        self,
        base: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """``base`` (default: ours) with the fakes first on PATH."""
        environment = dict(os.environ if base is None else base)
        path = environment.get("PATH", os.defpath)
        environment["PATH"] = f"{self.bin_dir}{os.pathsep}{path}"
        environment[STATE_ENV] = str(self.state_file.path)
        environment[TIME_SCALE_ENV] = repr(self.time_scale)

        return environment

    def run(
        self,
        *argv: str,
        stdin: bytes = b"",
        cwd: Path | None = None,
        timeout: float = 30.0,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run a command line (``"docker", "sandbox", "ls"``) to the end."""
        return subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            env=self.environment(),
            cwd=cwd,
            timeout=timeout,
            check=False,
        )

    @contextlib.contextmanager
    def change(self) -> Iterator[FakeState]:
        """Lock the state and yield it for any change; saved on exit."""
        with self.state_file.transaction() as state:
            yield state

    # Arranging the world.

    def add_sandbox(
        self,
        name: str | None,
        workspace: Path | str,
        *,
        agent: str = "claude",
        status: str = "running",
        logged_in: bool = True,
        extra_workspaces: Sequence[str] = (),
    ) -> str:
        """Add a sandbox over ``workspace``; return its name."""
        primary = str(workspace)
        name = name or default_name(agent, primary)
        login = Login() if logged_in else Login(method=LoginMethod.NONE)
        with self.change() as state:
            sandbox = Sandbox(name, [primary, *extra_workspaces], agent)
            sandbox.status = status
            sandbox.login = login
            sandbox.created_at = time.time()
            state.world.sandboxes[name] = sandbox

        return name

    def queue_reply(self, name: str, plan: Plan) -> None:
        """Make ``plan`` the behaviour of a later ``claude -p`` in ``name``."""
        with self.change() as state:
            state.world.sandboxes[name].plans.append(plan)

    def set_daemon(self, *, up: bool = True, wedged: bool = False) -> None:
        """Switch the sandbox daemon on or off, or wedge it."""
        with self.change() as state:
            state.world.daemon_up = up
            state.world.daemon_wedged = wedged

    def set_image_store(self, *, up: bool) -> None:
        """Switch Docker Desktop's engine (the image store) on or off."""
        with self.change() as state:
            state.world.image_store_up = up

    def set_plugin(self, *, present: bool) -> None:
        """Install or remove the ``docker sandbox`` plugin."""
        with self.change() as state:
            state.world.plugin_present = present

    def set_generation(
        self,
        docker: DockerGeneration | None = None,
        sbx: SbxGeneration | None = None,
        version: str | None = None,
    ) -> None:
        """
        Choose which output generation the fakes print.

        A name that is no generation is refused before anything changes,
        so the state file never holds one.
        """
        plugin = None if docker is None else _member(DockerGeneration, docker)
        cli = None if sbx is None else _member(SbxGeneration, sbx)
        with self.change() as state:
            if plugin is not None:
                state.fakes.docker_generation = plugin
            if cli is not None:
                state.fakes.sbx_generation = cli
            if version is not None:
                state.world.tool_version = version

    def expire_login(self, name: str, *, at: float | None = None) -> None:
        """Let the OAuth login of ``name`` expire at ``at`` (default: now)."""
        with self.change() as state:
            login = state.world.sandboxes[name].login
            login.method = LoginMethod.CLAUDE_AI
            login.expires_at = time.time() - 1 if at is None else at

    def use_api_key(self, name: str, *, fallback: bool = False) -> None:
        """
        Make ``name`` bill to an API key.

        With ``fallback`` the OAuth login stays and the key takes over
        only once it expires.
        """
        with self.change() as state:
            login = state.world.sandboxes[name].login
            if fallback:
                login.api_key_fallback = True
            else:
                login.method = LoginMethod.API_KEY

    def log_out(self, name: str) -> None:
        """Leave ``name`` without any credential."""
        with self.change() as state:
            state.world.sandboxes[name].login = Login(method=LoginMethod.NONE)

    def set_head(self, name: str, workspace: str, head: str | None) -> None:
        """Make ``git rev-parse HEAD`` in ``workspace`` answer ``head``."""
        with self.change() as state:
            state.world.sandboxes[name].heads[workspace] = head

    def set_status(self, name: str, status: str) -> None:
        """Mark sandbox ``name`` running or stopped."""
        with self.change() as state:
            state.world.sandboxes[name].status = status

    def add_secret(self, service: str, kind: str = "oauth") -> None:
        """Store an sbx host secret (``oauth`` or ``api_key``)."""
        with self.change() as state:
            state.fakes.secrets[service] = kind

    # Inspecting it.

    def world(self) -> World:
        """A snapshot of the world."""
        return self.state_file.read().world

    def sandboxes(self) -> dict[str, Sandbox]:
        """The sandboxes by name, as the world has them now."""
        return self.world().sandboxes

    def images(self) -> dict[str, str]:
        """The image store's tags, each to its image id."""
        return self.world().tags

    def alive(self, name: str | None = None) -> list[Process]:
        """
        The in-sandbox processes that still run (of ``name``, or all).

        Records of ended processes are pruned first, and a record is
        trusted only while its pid carries the run's marker.
        """
        with self.change() as state:
            prune_processes(state.world)
            sandboxes = [
                sandbox
                for sandbox in state.world.sandboxes.values()
                if name is None or sandbox.name == name
            ]
        processes = [
            process
            for sandbox in sandboxes
            for process in sandbox.processes.values()
        ]

        return [process for process in processes if is_alive(process)]


def _member(kind: type[_Generation], value: str) -> _Generation:
    """``value`` as a member of ``kind``, or a ValueError naming both."""
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(repr(member.value) for member in kind)
        msg = f"{value!r} is no {kind.__name__}; expected one of {known}"
        raise ValueError(msg) from None
