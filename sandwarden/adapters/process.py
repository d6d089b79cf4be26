"""
The process runner: real child processes under deadlines.

``start`` launches a command in its own process group and returns a
``ProcessExecution`` (the ``Execution`` port for real processes); ``run``
is the short form for tool calls (``ls``, ``version``, ``rm``) that
collects the whole output under one deadline.

How a run is driven:

- stdin is written by a task of its own and then closed (``None``: the
  child reads ``/dev/null``); an open stdin can make ``claude -p`` wait
  forever, and a large prompt must not block the readers. A
  ``FileInput`` is read and written piece by piece, so that a
  multi-GB image tar never sits in memory and its feeding can be
  counted.
- stdout and stderr are read by two tasks into one bounded queue that
  ``output()`` drains. A slow consumer fills the queue; the readers then
  stop reading and the child blocks on a full pipe. That is back-pressure,
  not silence: while a reader waits for room in the queue the run counts
  as active, so only the hard limit can stop it. Memory stays bounded by
  the queue (``QUEUE_CHUNKS`` reads of at most ``READ_SIZE`` bytes) plus
  the 64 KiB stderr tail, whatever the child prints.
- activity is stamped when a reader gets bytes from a pipe, on either
  stream, with ``loop.time()``; the domain's ``Deadlines`` say when a
  limit fires.
- on a limit or a cancel: ``output()`` ends at once (``stopped`` says
  why), then SIGTERM to the group, ``grace`` seconds, SIGKILL, reap, and
  the caller's in-sandbox clean-up, bounded by ``cleanup_timeout``;
  ``wait()`` returns when all of that is done. A natural end also
  sweeps what the child left in its group. Nothing outlives ``wait()``:
  no process, task or pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.deadlines import Limits, Stop
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.sandbox import Chunk, ExecResult, Stream

__all__ = [
    "FEED_SIZE",
    "QUEUE_CHUNKS",
    "READ_SIZE",
    "STDERR_TAIL",
    "Cleanup",
    "FileInput",
    "ProcessExecution",
    "StopPolicy",
    "ToolOutput",
    "run",
    "start",
]

_log = logging.getLogger(__name__)

#: Bytes asked of a pipe per read: the pipe buffer size of Linux.
READ_SIZE = 64 * 1024
#: Reads held for a slow consumer before the readers wait (1 MiB).
QUEUE_CHUNKS = 16
#: stderr kept for the result and for ``classify``.
STDERR_TAIL = 64 * 1024
#: stdout a short tool call may print before it is refused; ``ls --json``
#: of hundreds of sandboxes stays far below.
TOOL_STDOUT_MAX = 16 * 1024 * 1024
# After the group is killed, how long the readers may drain what is left
# in the pipes; a process that escaped the group (setsid) could keep them
# open forever.
_DRAIN_AFTER_KILL = 0.5

#: The in-sandbox clean-up an adapter hands the runner; it must not raise
#: for a failure of the world, and is cancelled when it overruns.
Cleanup = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class StopPolicy:
    """
    How a run is stopped.

    ``grace`` is the time between SIGTERM and SIGKILL; ``cleanup_timeout``
    bounds the in-sandbox clean-up that follows.
    """

    grace: float = 2.0
    cleanup_timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class FileInput:
    """
    A file to feed to a child's stdin, in pieces.

    ``fed`` is called with the bytes written so far after each piece
    the child has taken. A file that cannot be read gives the child an
    empty stdin; its output says what it made of that.
    """

    path: str
    fed: Callable[[int], None] | None = None


#: Bytes of a ``FileInput`` read and written at a time.
FEED_SIZE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What a short tool call printed, and its exit code."""

    exit_code: int
    stdout: bytes
    stderr: bytes


class _Tail:
    """The last ``size`` bytes written to it."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data = bytearray()

    def add(self, data: bytes) -> None:
        self._data += data
        if len(self._data) > self._size:
            del self._data[: len(self._data) - self._size]

    def value(self) -> bytes:
        return bytes(self._data)


class ProcessExecution:
    """
    One child process, its pipes and its deadlines.

    Iterate ``output()`` (once) while or before awaiting ``wait()``. If
    ``wait()`` is awaited and ``output()`` was never started, or once the
    iterator is closed, further output is read and dropped (its size still
    counted) so the child can never block on a pipe nobody drains. A
    caller that stops iterating early should close the iterator.
    """

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        *,
        limits: Limits,
        policy: StopPolicy,
        stdin: bytes | FileInput | None,
        cleanup: Cleanup | None,
        label: str,
    ) -> None:
        loop = asyncio.get_running_loop()
        self._process = process
        self._limits = limits
        self._policy = policy
        self._cleanup = cleanup
        self._label = label
        self._started = loop.time()
        self._last_activity = self._started
        self._waiting_for_room = 0
        # Unbounded on its own: ``_deliver`` keeps it to QUEUE_CHUNKS, so
        # the end marker always fits and no read chunk is ever dropped.
        self._queue: asyncio.Queue[Chunk | None] = asyncio.Queue()
        self._room = asyncio.Event()
        self._discard = asyncio.Event()
        self._cancel_requested = asyncio.Event()
        self._iterated = False
        self._stderr = _Tail(STDERR_TAIL)
        self._stdout_size = 0
        self._stopped: Stop | None = None
        self._ended = False
        self._readers = [
            asyncio.create_task(self._read(Stream.STDOUT)),
            asyncio.create_task(self._read(Stream.STDERR)),
        ]
        self._writer = asyncio.create_task(self._write(stdin))
        self._driver = asyncio.create_task(self._drive())

    @property
    def stopped(self) -> Stop | None:
        """
        Which limit stopped the run, as soon as it was decided.

        ``output()`` ends at that moment, before the kill and the
        clean-up that ``wait()`` waits for.
        """
        return self._stopped

    @property
    def pid(self) -> int:
        """The child's process id, also its process group id."""
        return self._process.pid

    async def output(self) -> AsyncIterator[Chunk]:
        """Yield stdout and stderr chunks in the order they were read."""
        if self._iterated:
            msg = "output() of an execution may be iterated only once"
            raise RuntimeError(msg)
        self._iterated = True
        try:
            while True:
                chunk = await self._queue.get()
                self._room.set()
                if chunk is None:
                    return
                yield chunk
        except asyncio.CancelledError:
            # The consumer was cancelled: that is a cancel of the run.
            self._cancel_requested.set()
            raise
        finally:
            self._discard.set()

    async def wait(self) -> Result[ExecResult, WardenError]:
        """Wait for the end, the stop and the clean-up; say how it ended."""
        if not self._iterated:
            self._discard.set()
        try:
            result = await asyncio.shield(self._driver)
        except asyncio.CancelledError:
            self._cancel_requested.set()
            raise

        return Success(result)

    async def cancel(self) -> None:
        """Stop the process and its group, run the clean-up, then return."""
        self._cancel_requested.set()
        if not self._iterated:
            self._discard.set()
        await asyncio.shield(self._driver)

    # The driver: natural end, or a limit, or a cancel.

    async def _drive(self) -> ExecResult:
        loop = asyncio.get_running_loop()
        natural = asyncio.ensure_future(self._natural_end())
        cancel = asyncio.ensure_future(self._cancel_requested.wait())
        deadlines = self._limits.start(self._started)
        try:
            while not natural.done():
                now = loop.time()
                current = deadlines.touched(self._last_activity)
                if self._waiting_for_room:
                    current = current.touched(now)
                if cancel.done():
                    self._stopped = Stop.CANCELLED
                    break
                fired = current.expired(now)
                if fired is not None:
                    self._stopped = fired
                    break
                await asyncio.wait(
                    {natural, cancel},
                    timeout=current.remaining(now),
                    return_when=asyncio.FIRST_COMPLETED,
                )
            if self._stopped is None:
                await natural
                await self._sweep_group()
            else:
                # The caller hears of the stop now; the kill and the
                # clean-up follow, and ``wait()`` waits for them.
                self._discard.set()
                self._queue_end()
                _log.debug(
                    "process.stopping",
                    extra={
                        "sandwarden.command": self._label,
                        "sandwarden.stop": str(self._stopped),
                    },
                )
                await self._kill_group()
                await self._drain(natural)
                await self._run_cleanup()
        finally:
            cancel.cancel()
            for task in (*self._readers, self._writer, natural, cancel):
                task.cancel()
            await asyncio.gather(
                *self._readers,
                self._writer,
                natural,
                cancel,
                return_exceptions=True,
            )
            self._close_pipes()
            self._queue_end()

        return ExecResult(
            exit_code=self._process.returncode,
            stopped=self._stopped,
            stderr_tail=self._stderr.value(),
            stdout_size=self._stdout_size,
            started=self._started,
            ended=loop.time(),
        )

    async def _natural_end(self) -> None:
        await asyncio.gather(*self._readers)
        await self._process.wait()

    async def _drain(self, natural: asyncio.Future[None]) -> None:
        with contextlib.suppress(TimeoutError, Exception):
            await asyncio.wait_for(asyncio.shield(natural), _DRAIN_AFTER_KILL)

    # Pipes.

    async def _write(self, data: bytes | FileInput | None) -> None:
        pipe = self._process.stdin
        if pipe is None:
            return
        try:
            if isinstance(data, FileInput):
                await _feed(data, pipe)
            elif data:
                pipe.write(data)
                await pipe.drain()
        except (BrokenPipeError, ConnectionResetError):
            # The child exited or closed stdin without reading it all;
            # its output and exit code say what happened.
            pass
        finally:
            pipe.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await pipe.wait_closed()

    async def _read(self, stream: Stream) -> None:
        pipe = (
            self._process.stdout
            if stream is Stream.STDOUT
            else self._process.stderr
        )
        if pipe is None:
            return
        loop = asyncio.get_running_loop()
        while True:
            data = await pipe.read(READ_SIZE)
            if not data:
                return
            self._last_activity = loop.time()
            if stream is Stream.STDOUT:
                self._stdout_size += len(data)
            else:
                self._stderr.add(data)
            await self._deliver(Chunk(stream, data))

    async def _deliver(self, chunk: Chunk) -> None:
        if self._queue.qsize() >= QUEUE_CHUNKS:
            await self._wait_for_room()
        if not self._discard.is_set():
            self._queue.put_nowait(chunk)

    async def _wait_for_room(self) -> None:
        # Back-pressure: wait for the consumer to take a chunk or leave,
        # and count the wait as activity (see the module docstring).
        self._waiting_for_room += 1
        gone = asyncio.ensure_future(self._discard.wait())
        try:
            while (
                self._queue.qsize() >= QUEUE_CHUNKS
                and not self._discard.is_set()
            ):
                self._room.clear()
                room = asyncio.ensure_future(self._room.wait())
                try:
                    await asyncio.wait(
                        {room, gone}, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    room.cancel()
        finally:
            self._waiting_for_room -= 1
            self._last_activity = asyncio.get_running_loop().time()
            gone.cancel()

    def _queue_end(self) -> None:
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(None)

    def _close_pipes(self) -> None:
        transport = getattr(self._process, "_transport", None)
        if transport is not None:
            transport.close()

    # Stopping.

    async def _kill_group(self) -> None:
        self._signal_group(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._process.wait(), self._policy.grace)
        # Grandchildren may still ignore TERM after the leader went.
        self._signal_group(signal.SIGKILL)
        await self._process.wait()

    async def _sweep_group(self) -> None:
        if not self._group_alive():
            return
        self._signal_group(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        until = loop.time() + self._policy.grace
        # Nothing signals that a process group emptied: poll it.
        while self._group_alive() and loop.time() < until:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        self._signal_group(signal.SIGKILL)

    def _group_alive(self) -> bool:
        try:
            os.killpg(self._process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False

        return True

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, sig)

    async def _run_cleanup(self) -> None:
        if self._cleanup is None:
            return
        try:
            await asyncio.wait_for(
                self._cleanup(), self._policy.cleanup_timeout
            )
        except TimeoutError:
            _log.debug(
                "process.cleanup.failed",
                extra={
                    "sandwarden.command": self._label,
                    "sandwarden.reason": "timeout",
                },
            )
        except Exception as error:  # the clean-up is best effort
            _log.debug(
                "process.cleanup.failed",
                extra={
                    "sandwarden.command": self._label,
                    "sandwarden.reason": repr(error),
                },
            )


async def _feed(source: FileInput, pipe: asyncio.StreamWriter) -> None:
    """Copy ``source`` into ``pipe``, reporting the running count."""
    try:
        handle = await asyncio.to_thread(open, source.path, "rb")
    except OSError as error:
        _log.debug(
            "process.stdin.failed",
            extra={
                "sandwarden.path": source.path,
                "sandwarden.error": str(error),
            },
        )
        return
    done = 0
    try:
        while piece := await asyncio.to_thread(handle.read, FEED_SIZE):
            pipe.write(piece)
            await pipe.drain()
            done += len(piece)
            if source.fed is not None:
                source.fed(done)
    finally:
        handle.close()


async def start(
    argv: Sequence[str],
    *,
    limits: Limits,
    stdin: bytes | FileInput | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    policy: StopPolicy | None = None,
    cleanup: Cleanup | None = None,
) -> Result[ProcessExecution, WardenError]:
    """
    Start ``argv`` in a new process group under ``limits``.

    A missing executable fails as ``sandbox_unavailable`` (tool_missing);
    any other failure to start as ``unknown``.
    """
    if not argv:
        return Failure(WardenError.invalid("command is empty"))
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=(
                asyncio.subprocess.PIPE
                if stdin is not None
                else asyncio.subprocess.DEVNULL
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    except FileNotFoundError:
        return Failure(
            WardenError.unavailable(
                UnavailableReason.TOOL_MISSING,
                f"{argv[0]!r} was not found; expected the tool installed "
                "and on PATH",
            ),
        )
    except OSError as error:
        return Failure(
            WardenError(
                ErrorKind.UNKNOWN,
                f"could not start {argv[0]!r}: {error.strerror or error}",
            ),
        )

    return Success(
        ProcessExecution(
            process,
            limits=limits,
            policy=policy or StopPolicy(),
            stdin=stdin,
            cleanup=cleanup,
            label=os.path.basename(argv[0]),
        ),
    )


async def run(
    argv: Sequence[str],
    *,
    within: float,
    stdin: bytes | FileInput | None = None,
    env: Mapping[str, str] | None = None,
    policy: StopPolicy | None = None,
) -> Result[ToolOutput, WardenError]:
    """
    Run a short tool call to its end and collect what it printed.

    Passing ``within`` seconds fails as ``sandbox_unavailable`` (wedged): these
    tools hang when their daemon does. The exit code is returned, not
    judged: the caller classifies it.
    """
    started = await start(
        argv,
        limits=Limits(hard=within),
        stdin=stdin,
        env=env,
        policy=policy,
    )
    if not is_successful(started):
        return Failure(started.failure())
    execution = started.unwrap()

    stdout = bytearray()
    too_long = False
    try:
        async for chunk in execution.output():
            if chunk.stream is Stream.STDOUT:
                stdout += chunk.data
                if len(stdout) > TOOL_STDOUT_MAX:
                    too_long = True
                    await execution.cancel()
                    break
    except asyncio.CancelledError:
        await execution.cancel()
        raise
    ended = (await execution.wait()).unwrap()

    command = " ".join(argv[:3])
    if too_long:
        return Failure(
            WardenError(
                ErrorKind.UNKNOWN,
                f"`{command}` printed more than {TOOL_STDOUT_MAX} bytes; "
                "expected a short answer",
            ),
        )
    if ended.stopped is not None or ended.exit_code is None:
        return Failure(
            WardenError.unavailable(
                UnavailableReason.WEDGED,
                f"`{command}` did not answer within {within:g} s; "
                "the tool or its daemon is hanging",
                detail=ended.stderr_tail.decode("utf-8", "replace"),
            ),
        )

    return Success(
        ToolOutput(ended.exit_code, bytes(stdout), ended.stderr_tail),
    )
