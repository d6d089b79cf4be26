"""
A simulated command run: a ``Script`` played on the virtual clock.

``SimulatedExecution`` implements the ``Execution`` port. It plays the
script's steps into a queue of chunks, enforces the caller's ``Limits``
with the domain's deadline arithmetic, notices when its process is
killed (the clean-up script, ``stop``, ``rm``, a fault), turns a Claude
run into an authentication failure when the login dies during it, and
always removes its process from the world when it ends.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass

from returns.result import Result, Success

from sandwarden.domain.deadlines import Deadlines, Stop
from sandwarden.domain.errors import WardenError
from sandwarden.domain.sandbox import Chunk, ExecResult, Stream
from sandwarden.ports import Clock
from sandwarden.simulator.claude import auth_failure
from sandwarden.simulator.scripts import Script
from sandwarden.simulator.world import LoginState, Process, Sandbox, World

__all__ = ["SimulatedExecution"]

# ExecResult keeps the last 64 KiB of stderr (see its docstring).
_TAIL = 64 * 1024
# Exit statuses of a process killed by SIGTERM (the clean-up protocol)
# and by SIGKILL (its sandbox vanished under it): 128 + signal.
_TERMINATED = 143
_KILLED = 137
_DEAD_LOGIN = (LoginState.EXPIRED, LoginState.LOGGED_OUT)


@dataclass(slots=True)
class _Ending:
    exit_code: int | None
    stopped: Stop | None


class SimulatedExecution:
    """One command playing its script inside a simulated sandbox."""

    def __init__(
        self,
        *,
        world: World,
        clock: Clock,
        sandbox: Sandbox,
        process: Process,
        script: Script,
        deadlines: Deadlines,
    ) -> None:
        self._world = world
        self._clock = clock
        self._sandbox = sandbox
        self._process = process
        self._script = script
        self._deadlines = deadlines
        self._chunks: asyncio.Queue[Chunk | None] = asyncio.Queue()
        self._poke = asyncio.Event()
        self._cancel_requested = False
        self._ending: _Ending | None = None
        self._stderr_tail = b""
        self._stdout_size = 0
        self._iterated = False
        self._ended_at = deadlines.started
        # A command on a missing sandbox still runs (it prints the tool's
        # complaint); only a sandbox that was there can vanish under it.
        self._attached = world.sandboxes.get(sandbox.name) is sandbox
        self._task = asyncio.get_running_loop().create_task(self._play())

    @property
    def marker(self) -> str:
        """The run id carried in the process's environment."""
        return self._process.marker

    def poke(self) -> None:
        """Make the player look at the world again (it may have changed)."""
        self._poke.set()

    def done(self) -> bool:
        """Tell whether the run has ended."""
        return self._ending is not None

    async def output(self) -> AsyncIterator[Chunk]:
        """Yield the chunks in the order they were written."""
        if self._iterated:
            msg = "an execution's output may be iterated once"
            raise RuntimeError(msg)
        self._iterated = True
        while (chunk := await self._chunks.get()) is not None:
            yield chunk

    async def wait(self) -> Result[ExecResult, WardenError]:
        """Wait for the end; return how it ended."""
        await asyncio.shield(self._task)
        ending = self._ending
        assert ending is not None

        return Success(
            ExecResult(
                exit_code=ending.exit_code,
                stopped=ending.stopped,
                stderr_tail=self._stderr_tail,
                stdout_size=self._stdout_size,
                started=self._deadlines.started,
                ended=self._ended_at,
            ),
        )

    async def cancel(self) -> None:
        """Stop the run as ``cancelled``; nothing happens after the end."""
        if self._ending is None:
            self._cancel_requested = True
            self._poke.set()
        await asyncio.shield(self._task)

    async def _play(self) -> None:
        script = self._script
        login_alive = not self._login_dead()
        index = 0
        while index < len(script.steps):
            step = script.steps[index]
            if not await self._pause(step.delay):
                return
            if script.needs_login and login_alive and self._login_dead():
                script = self._auth_failure_tail()
                login_alive, index = False, 0
                continue
            self._emit(Chunk(step.stream, step.data))
            index += 1
        if script.exit_code is None:
            await self._pause(math.inf)
            return
        self._end(_Ending(script.exit_code, None))

    async def _pause(self, delay: float) -> bool:
        """Wait ``delay``; False when the run was ended meanwhile."""
        target = self._clock.monotonic() + delay
        while True:
            now = self._clock.monotonic()
            ending = self._interruption(now)
            if ending is not None:
                self._end(ending)
                return False
            if now >= target:
                return True
            wake = min(target, self._deadlines.next_at() or math.inf)
            self._poke.clear()
            timeout = None if math.isinf(wake) else wake - now
            try:
                async with asyncio.timeout(timeout):
                    await self._poke.wait()
            except TimeoutError:
                pass

    def _interruption(self, now: float) -> _Ending | None:
        if self._cancel_requested:
            return _Ending(None, Stop.CANCELLED)
        stop = self._deadlines.expired(now)
        if stop is not None:
            return _Ending(None, stop)
        if not self._attached:
            return None
        if self._world.sandboxes.get(self._sandbox.name) is not self._sandbox:
            return _Ending(_KILLED, None)
        if str(self._process.pid) not in self._sandbox.processes:
            return _Ending(_TERMINATED, None)

        return None

    def _login_dead(self) -> bool:
        state = self._sandbox.login.state_at(self._clock.time())
        return state in _DEAD_LOGIN

    def _auth_failure_tail(self) -> Script:
        state = self._sandbox.login.state_at(self._clock.time())
        self._world.record(
            self._clock.monotonic(),
            "runtime",
            f"exec {self._sandbox.name}: login {state} during the run",
        )

        return auth_failure(
            self._world,
            self._sandbox,
            self._script.session_id or self._world.next_id(),
            state,
        )

    def _emit(self, chunk: Chunk) -> None:
        if not chunk.data:
            return
        self._deadlines = self._deadlines.touched(self._clock.monotonic())
        if chunk.stream is Stream.STDOUT:
            self._stdout_size += len(chunk.data)
        else:
            self._stderr_tail = (self._stderr_tail + chunk.data)[-_TAIL:]
        self._chunks.put_nowait(chunk)

    def _end(self, ending: _Ending) -> None:
        self._ending = ending
        self._ended_at = self._clock.monotonic()
        self._sandbox.processes.pop(str(self._process.pid), None)
        self._chunks.put_nowait(None)
        how = (
            f"stopped ({ending.stopped})"
            if ending.stopped is not None
            else f"exit {ending.exit_code}"
        )
        self._world.record(
            self._ended_at,
            "runtime",
            f"exec {self._sandbox.name} run {self.marker} ended: {how}",
        )
