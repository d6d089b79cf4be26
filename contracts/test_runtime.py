"""
The behaviours every ``SandboxRuntime`` shows, whatever tool is behind it.

Each test receives a ``subject`` (see ``contracts/subjects.py``): the
simulator on virtual time, each CLI adapter with its fake executable on
real small timers, the real tools when opted in, or a third party's
runtime. A behaviour a tool lacks is asserted as ``capabilities()``
reports it, never skipped.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pytest
from returns.pipeline import is_successful
from returns.result import Result

from contracts.subjects import ContractNames, Subject, UnarrangeableError
from sandwarden.domain.auth import check_billing
from sandwarden.domain.classify import Context, classify
from sandwarden.domain.deadlines import Limits, Stop
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.invocation import ClaudeRun
from sandwarden.domain.reply import decode
from sandwarden.domain.sandbox import (
    ExecResult,
    Operation,
    SandboxSpec,
    Stream,
)
from sandwarden.domain.values import (
    ImageTag,
    SandboxName,
    SessionId,
    Workspace,
)
from sandwarden.ports import SandboxRuntime
from sandwarden.simulator.world import Behaviour

PROMPT = b"Say hello."
GENEROUS = Limits(hard=30.0, inactivity=10.0)
# Small enough to keep the suite quick on real timers, long enough that
# a scripted reply (tens of milliseconds on the fakes) is never mistaken
# for a stall.
STALL = Limits(hard=30.0, inactivity=0.6)
HANG = Limits(hard=0.8)


def arrange(step: Callable[[], None]) -> None:
    """Perform an arranging step, or skip when the subject cannot."""
    try:
        step()
    except UnarrangeableError as reason:
        pytest.skip(str(reason))


@dataclass(frozen=True, slots=True)
class Ran:
    """A command run to its end through the port."""

    result: ExecResult
    stdout: bytes
    stderr: bytes


async def run_to_end(
    subject: Subject,
    name: str,
    command: Sequence[str],
    *,
    limits: Limits = GENEROUS,
    stdin: bytes | None = PROMPT,
    workdir: Workspace | None = None,
    env: Mapping[str, str] | None = None,
    runtime: SandboxRuntime | None = None,
) -> Result[Ran, WardenError]:
    started = await (runtime or subject.runtime).exec(
        SandboxName(name),
        command,
        workdir=workdir or subject.workspace,
        limits=limits,
        stdin=stdin,
        env=env,
    )
    if not is_successful(started):
        return started.map(lambda _: Ran(_empty(), b"", b""))
    execution = started.unwrap()
    out, err = bytearray(), bytearray()
    async for chunk in execution.output():
        (out if chunk.stream is Stream.STDOUT else err).extend(chunk.data)
    ended = await execution.wait()

    return ended.map(lambda result: Ran(result, bytes(out), bytes(err)))


def _empty() -> ExecResult:
    return ExecResult(None, None, b"", 0, 0.0, 0.0)


def claude(subject: Subject, name: str, **limits: float) -> Ran:
    ran = subject.run(
        run_to_end(subject, name, ClaudeRun().argv(), limits=GENEROUS)
    )
    return ran.unwrap()


def failure_of(ran: Result[Ran, WardenError], context: Context) -> WardenError:
    """The error a run's outputs show (a failed start counts as one)."""
    if not is_successful(ran):
        return ran.failure()
    done = ran.unwrap()
    judged = classify(done.result.exit_code, done.stdout, done.stderr, context)
    assert not is_successful(judged), "expected the outputs to show a failure"

    return judged.failure()


# Sandboxes.


def test_a_created_sandbox_is_listed_over_its_workspace(
    subject: Subject,
    names: ContractNames,
) -> None:
    spec = SandboxSpec(SandboxName(names.new), subject.workspace)

    created = subject.run(subject.runtime.create(spec))
    listed = subject.run(subject.runtime.list())

    assert created.unwrap().name == names.new
    info = {i.name: i for i in listed.unwrap()}[names.new]
    assert any(subject.workspace.matches(w) for w in info.workspaces)


def test_creating_a_name_that_exists_fails_as_already_exists(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main, logged_in=False))

    again = subject.run(
        subject.runtime.create(
            SandboxSpec(SandboxName(names.main), subject.workspace)
        )
    )

    error = again.failure()
    assert error.kind is ErrorKind.ALREADY_EXISTS


def test_removing_a_missing_sandbox_fails_as_not_found(
    subject: Subject,
    names: ContractNames,
) -> None:
    removed = subject.run(subject.runtime.remove(SandboxName(names.missing)))

    error = removed.failure()
    assert (
        error.kind is ErrorKind.NOT_FOUND
        or error.reason is UnavailableReason.NOT_FOUND
    )


def test_exec_on_a_missing_sandbox_shows_it_is_not_found(
    subject: Subject,
    names: ContractNames,
) -> None:
    ran = subject.run(run_to_end(subject, names.missing, ClaudeRun().argv()))

    error = failure_of(ran, Context.PROMPT)

    assert error.reason is UnavailableReason.NOT_FOUND


def test_exec_in_a_directory_the_sandbox_does_not_mount_fails(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    elsewhere = Workspace("/nonexistent/contract/elsewhere")

    inside = subject.run(
        run_to_end(subject, names.main, ("pwd",), stdin=None)
    ).unwrap()
    outside = subject.run(
        run_to_end(
            subject, names.main, ("pwd",), stdin=None, workdir=elsewhere
        )
    )

    # The same command proves the sandbox answers in its workspace...
    assert inside.result.exit_code == 0
    assert _is_workspace(subject, inside.stdout)
    # ...and fails, printing no directory, in one it does not mount.
    if is_successful(outside):
        assert outside.unwrap().result.exit_code not in (0, None)
        assert elsewhere.path.encode() not in outside.unwrap().stdout


# Claude's login.


def test_a_logged_out_sandbox_answers_the_probe_as_logged_out(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main, logged_in=False))

    status = subject.run(
        subject.runtime.auth_status(
            SandboxName(names.main), subject.workspace, GENEROUS
        )
    )

    assert status.unwrap().logged_in is False


def test_an_api_key_fallback_is_caught_by_the_billing_guard(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    arrange(lambda: subject.use_api_key_fallback(names.main))

    status = subject.run(
        subject.runtime.auth_status(
            SandboxName(names.main), subject.workspace, GENEROUS
        )
    ).unwrap()

    assert status.logged_in
    guarded = check_billing(status, allow_api_key=False)
    assert guarded.failure().kind is ErrorKind.BILLING_GUARD


def test_exec_refuses_an_api_key_in_the_environment_before_running(
    subject: Subject,
    names: ContractNames,
) -> None:
    # The refusal comes first: even a missing sandbox is not looked up.
    ran = subject.run(
        run_to_end(
            subject,
            names.missing,
            ("printenv", "ANTHROPIC_API_KEY"),
            stdin=None,
            env={"ANTHROPIC_API_KEY": "sk-ant-contract"},
        )
    )

    error = ran.failure()
    assert error.kind is ErrorKind.BILLING_GUARD
    assert "ANTHROPIC_API_KEY" in error.message
    assert "sk-ant-contract" not in str(error)


def test_an_api_key_is_forwarded_when_api_key_billing_is_allowed(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main, logged_in=False))
    # Subjects written before the guard may not offer the allowing twin.
    if not hasattr(subject, "allowing_api_key"):
        pytest.skip("the subject has no allowing_api_key()")

    ran = subject.run(
        run_to_end(
            subject,
            names.main,
            ("printenv", "ANTHROPIC_API_KEY"),
            stdin=None,
            env={"ANTHROPIC_API_KEY": "sk-ant-contract"},
            runtime=subject.allowing_api_key(),
        )
    ).unwrap()

    assert ran.result.exit_code == 0
    assert ran.stdout.decode().strip() == "sk-ant-contract"


# Claude runs.


def test_a_normal_reply_is_a_successful_result(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    arrange(lambda: subject.queue_reply(names.main, Behaviour.NORMAL))

    ran = claude(subject, names.main)

    reply = decode(ran.stdout)
    assert ran.result.stopped is None
    assert ran.result.exit_code == 0
    assert reply.is_error is False
    assert reply.text
    assert reply.session_id


def test_resuming_an_unknown_session_fails_as_session_not_found(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    unknown = SessionId("00000000-0000-4000-8000-00000000dead")

    ran = subject.run(
        run_to_end(subject, names.main, ClaudeRun(resume=unknown).argv())
    )

    error = failure_of(ran, Context.RESUME)
    assert error.kind is ErrorKind.SESSION_NOT_FOUND


def test_a_non_zero_exit_after_a_valid_result_is_a_success(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    arrange(
        lambda: subject.queue_reply(names.main, Behaviour.EXIT_AFTER_RESULT)
    )

    ran = claude(subject, names.main)

    assert ran.result.exit_code not in (0, None)
    judged = classify(
        ran.result.exit_code, ran.stdout, ran.stderr, Context.PROMPT
    )
    assert is_successful(judged)
    assert decode(ran.stdout).is_error is False


# Limits and cancellation.


def test_a_stall_is_stopped_by_the_inactivity_limit(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    arrange(lambda: subject.queue_reply(names.main, Behaviour.STALL))

    ran = subject.run(
        run_to_end(subject, names.main, ClaudeRun().argv(), limits=STALL)
    ).unwrap()

    assert ran.result.stopped is Stop.STALLED
    assert ran.result.duration < STALL.hard  # type: ignore[operator]
    arrange(lambda: _assert_nothing_left(subject, names.main))


def test_a_hang_is_stopped_by_the_hard_limit(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    arrange(lambda: subject.queue_reply(names.main, Behaviour.HANG))

    ran = subject.run(
        run_to_end(subject, names.main, ClaudeRun().argv(), limits=HANG)
    ).unwrap()

    assert ran.result.stopped is Stop.HARD_TIMEOUT


def test_a_cancelled_run_leaves_no_process_in_the_sandbox(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    arrange(lambda: subject.queue_reply(names.main, Behaviour.HANG))

    async def cancel_after_start() -> tuple[ExecResult, int | None]:
        execution = (
            await subject.runtime.exec(
                SandboxName(names.main),
                ClaudeRun().argv(),
                workdir=subject.workspace,
                limits=GENEROUS,
                stdin=PROMPT,
            )
        ).unwrap()
        # A subject that spawns a local client says which (its group).
        pid = getattr(execution, "pid", None)
        # A hang prints nothing: let it start, then cancel.
        await asyncio.sleep(0.3)
        await execution.cancel()
        ended = (await execution.wait()).unwrap()
        return ended, pid if isinstance(pid, int) else None

    result, client = subject.run(cancel_after_start())

    assert result.stopped is Stop.CANCELLED
    if client is not None:
        assert not _group_alive(client), (
            f"the local client's process group {client} outlived wait()"
        )
    arrange(lambda: _assert_nothing_left(subject, names.main))


def test_the_claude_process_is_gone_from_the_sandbox_after_a_stop(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    arrange(lambda: subject.queue_reply(names.main, Behaviour.HANG))

    ran = subject.run(
        run_to_end(subject, names.main, ClaudeRun().argv(), limits=HANG)
    ).unwrap()

    assert ran.result.stopped is Stop.HARD_TIMEOUT
    assert subject.alive(names.main) == 0


def _is_workspace(subject: Subject, printed: bytes) -> bool:
    """Whether ``printed`` (a `pwd`) names the subject's workspace."""
    path = printed.decode(errors="replace").strip()
    resolved = os.path.realpath(subject.workspace.path)

    return subject.workspace.matches(path, resolved)


def _group_alive(group: int) -> bool:
    """Whether any process of process group ``group`` still exists."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # Some process holds the id; it is not ours to signal.
        return True

    return True


def _assert_nothing_left(subject: Subject, name: str) -> None:
    assert subject.alive(name) == 0


# The tool and its daemon.


def test_a_missing_tool_or_plugin_is_reported_with_its_reason(
    subject: Subject,
) -> None:
    arrange(subject.remove_tool)

    version = subject.run(subject.runtime.version())

    assert version.failure().reason is subject.missing_tool_reason


def test_a_dead_daemon_is_reported_or_restarted(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main, logged_in=False))
    arrange(lambda: subject.set_daemon(up=False))

    listed = subject.run(subject.runtime.list())

    if subject.restarts_daemon:
        # sbx starts its daemon and prints a banner before the JSON.
        assert [info.name for info in listed.unwrap()] == [names.main]
    else:
        assert listed.failure().reason is UnavailableReason.DAEMON_DOWN


# Templates and images.


def test_save_with_the_image_store_down_fails_and_capabilities_say_so(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    arrange(lambda: subject.set_image_store(up=False))

    capabilities = subject.run(subject.runtime.capabilities()).unwrap()
    saved = subject.run(
        subject.runtime.save(SandboxName(names.main), names.image())
    )

    if not subject.store_is_desktop:
        # sbx keeps templates in its own store: Docker Desktop is moot.
        assert capabilities.image_store is True
        assert is_successful(saved)
        return
    assert capabilities.image_store is False
    assert saved.failure().kind in {
        ErrorKind.DESKTOP_REQUIRED,
        ErrorKind.SANDBOX_UNAVAILABLE,
    }


def test_save_export_and_load_round_trip_where_the_tool_can(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    tag = names.image("v1")
    runtime = subject.runtime
    capabilities = subject.run(runtime.capabilities()).unwrap()

    saved = subject.run(runtime.save(SandboxName(names.main), tag))

    assert is_successful(saved)
    assert subject.run(runtime.image_exists(tag)).unwrap() is True
    assert subject.run(
        runtime.image_exists(names.absent_image())
    ).unwrap() is (False)
    _check_tag(subject, tag, capabilities.can(Operation.IMAGE_TAG))
    _check_export_and_load(
        subject, tag, capabilities.can(Operation.IMAGE_EXPORT)
    )


def test_save_to_tar_and_load_round_trip_where_the_tool_can(
    subject: Subject,
    names: ContractNames,
) -> None:
    arrange(lambda: subject.add_sandbox(names.main))
    tag = names.image("tar")
    path = subject.export_path("contract-saved.tar")
    runtime = subject.runtime
    capabilities = subject.run(runtime.capabilities()).unwrap()

    saved = subject.run(
        runtime.save_to_tar(SandboxName(names.main), tag, path)
    )

    if not capabilities.can(Operation.SAVE_TO_TAR):
        assert saved.failure().kind is ErrorKind.UNSUPPORTED
        return
    assert is_successful(saved)
    assert subject.run(runtime.image_exists(tag)).unwrap() is True
    loaded = subject.run(runtime.image_load(path))
    assert tag in loaded.unwrap()


def _check_tag(subject: Subject, tag: ImageTag, offered: bool) -> None:
    target = tag.with_tag("prev")
    tagged = subject.run(subject.runtime.image_tag(tag, target))
    if not offered:
        assert tagged.failure().kind is ErrorKind.UNSUPPORTED
        return
    assert is_successful(tagged)
    assert subject.run(subject.runtime.image_exists(target)).unwrap()


def _check_export_and_load(
    subject: Subject, tag: ImageTag, offered: bool
) -> None:
    path = subject.export_path("contract-auth.tar")
    exported = subject.run(subject.runtime.image_export(tag, path))
    if not offered:
        assert exported.failure().kind is ErrorKind.UNSUPPORTED
        return
    assert is_successful(exported)
    loaded = subject.run(subject.runtime.image_load(path))
    assert tag in loaded.unwrap()
