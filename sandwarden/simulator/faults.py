"""
Faults: scheduled changes of the world at virtual times.

A ``ScheduledFault`` names a virtual instant, a ``Fault`` kind, a target
(a sandbox name or a workspace path, by kind) and, for some kinds, a
value. ``apply_fault`` changes the world and records the change in its
event log; ``run_schedule`` applies a whole schedule on the clock, in
time order (ties in the order given), telling listeners (the runtime's
running commands) to look at the world again after each one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum, unique

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import WardenError
from sandwarden.ports import Clock
from sandwarden.simulator.world import Login, LoginMethod, Sandbox, World

__all__ = ["Fault", "ScheduledFault", "apply_fault", "run_schedule"]


@unique
class Fault(StrEnum):
    """What a fault does; the target is a sandbox unless noted."""

    LOGIN_EXPIRED = "login_expired"
    LOGIN_RENEWED = "login_renewed"
    LOGGED_OUT = "logged_out"
    API_KEY_LOGIN = "api_key_login"
    DAEMON_DOWN = "daemon_down"
    DAEMON_UP = "daemon_up"
    DAEMON_WEDGED = "daemon_wedged"
    IMAGE_STORE_DOWN = "image_store_down"
    IMAGE_STORE_UP = "image_store_up"
    PLUGIN_REMOVED = "plugin_removed"
    PLUGIN_RESTORED = "plugin_restored"
    SANDBOX_REMOVED = "sandbox_removed"
    SANDBOX_STOPPED = "sandbox_stopped"
    HOST_HEAD_CHANGED = "host_head_changed"  # target: a workspace
    WORKSPACE_MOVED = "workspace_moved"  # value: the new path


@dataclass(frozen=True, slots=True)
class ScheduledFault:
    """Apply ``fault`` to ``target`` at virtual second ``at``."""

    at: float
    fault: Fault
    target: str = ""
    value: str = ""


def apply_fault(
    world: World,
    fault: ScheduledFault,
    *,
    now: float,
    wall: float,
) -> Result[None, WardenError]:
    """
    Change the world as ``fault`` says; record it in the event log.

    ``now`` stamps the event; ``wall`` (epoch seconds) is when an expired
    login expired. A fault naming a missing sandbox fails and changes
    nothing.
    """
    kind = fault.fault
    sandbox = world.sandboxes.get(fault.target)
    if _needs_sandbox(kind) and sandbox is None:
        return Failure(
            WardenError.invalid(
                f"fault {kind} names sandbox {fault.target!r}, which does "
                f"not exist; expected one of {sorted(world.sandboxes)}",
            ),
        )
    _change(world, fault, sandbox, wall)
    shown = " ".join(x for x in (kind, fault.target, fault.value) if x)
    world.record(now, "fault", shown)

    return Success(None)


async def run_schedule(
    world: World,
    clock: Clock,
    schedule: Iterable[ScheduledFault],
    listeners: Sequence[Callable[[], None]] = (),
) -> list[WardenError]:
    """Apply the schedule on ``clock``; return the faults that failed."""
    failures = []
    for fault in sorted(schedule, key=lambda entry: entry.at):
        await clock.sleep(fault.at - clock.monotonic())
        applied = apply_fault(
            world, fault, now=clock.monotonic(), wall=clock.time()
        )
        if isinstance(applied, Failure):
            failures.append(applied.failure())
            world.record(clock.monotonic(), "fault", f"{fault.fault} refused")
        for listener in listeners:
            listener()

    return failures


def _needs_sandbox(kind: Fault) -> bool:
    return kind in {
        Fault.LOGIN_EXPIRED,
        Fault.LOGIN_RENEWED,
        Fault.LOGGED_OUT,
        Fault.API_KEY_LOGIN,
        Fault.SANDBOX_REMOVED,
        Fault.SANDBOX_STOPPED,
        Fault.WORKSPACE_MOVED,
    }


def _change(
    world: World,
    fault: ScheduledFault,
    sandbox: Sandbox | None,
    wall: float,
) -> None:
    match fault.fault:
        case Fault.LOGIN_EXPIRED:
            assert sandbox is not None
            sandbox.login.method = LoginMethod.CLAUDE_AI
            sandbox.login.expires_at = wall
        case Fault.LOGIN_RENEWED:
            assert sandbox is not None
            fallback = sandbox.login.api_key_fallback
            sandbox.login = Login(api_key_fallback=fallback)
        case Fault.LOGGED_OUT:
            assert sandbox is not None
            sandbox.login.method = LoginMethod.NONE
        case Fault.API_KEY_LOGIN:
            assert sandbox is not None
            sandbox.login.method = LoginMethod.API_KEY
        case Fault.DAEMON_DOWN | Fault.DAEMON_UP:
            world.daemon_up = fault.fault is Fault.DAEMON_UP
            world.daemon_wedged = False
        case Fault.DAEMON_WEDGED:
            world.daemon_wedged = True
        case Fault.IMAGE_STORE_DOWN | Fault.IMAGE_STORE_UP:
            world.image_store_up = fault.fault is Fault.IMAGE_STORE_UP
        case Fault.PLUGIN_REMOVED | Fault.PLUGIN_RESTORED:
            world.plugin_present = fault.fault is Fault.PLUGIN_RESTORED
        case Fault.SANDBOX_REMOVED:
            del world.sandboxes[fault.target]
        case Fault.SANDBOX_STOPPED:
            assert sandbox is not None
            sandbox.status = "stopped"
            sandbox.processes.clear()
        case Fault.HOST_HEAD_CHANGED:
            world.host_heads[fault.target] = fault.value or world.next_hex()
        case Fault.WORKSPACE_MOVED:
            assert sandbox is not None
            old = sandbox.primary_workspace() or ""
            new = fault.value or old.rstrip("/") + "-moved"
            sandbox.workspaces[0] = new
            sandbox.heads[new] = sandbox.heads.pop(old, None)
