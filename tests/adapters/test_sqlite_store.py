from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st
from returns.pipeline import is_successful
from returns.result import Result

from sandwarden.adapters.sqlite_store import MIGRATIONS, SqliteStateStore
from sandwarden.domain.breaker import BreakerState
from sandwarden.domain.conversation import Conversation
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.values import SandboxName, SessionId

_T = TypeVar("_T")


def run(awaitable: Awaitable[Result[_T, WardenError]]) -> _T:
    async def wait() -> Result[_T, WardenError]:
        return await awaitable

    result = asyncio.run(wait())
    assert is_successful(result), result

    return result.unwrap()


def open_store(
    path: Path,
    now: Callable[[], float] = time.time,
    keep: int = 200,
) -> SqliteStateStore:
    result = SqliteStateStore.open(str(path), now=now, history_keep=keep)
    assert is_successful(result), result

    return result.unwrap()


def conversation(key: str, n: int) -> Conversation:
    return Conversation(
        key=key,
        sandbox=SandboxName(f"box-{n}"),
        session_id=SessionId(f"s-{n}"),
        last_used=float(n),
        turns=n,
    )


def heal(n: int, *, succeeded: bool = True) -> HealRecord:
    return HealRecord(
        started_at=float(n),
        ended_at=float(n) + 1,
        trigger="auth",
        succeeded=succeeded,
        sandbox=f"box-{n}",
        steps=("reuse heal sandbox: unhealthy", "create from template: ok"),
    )


def test_a_fresh_store_remembers_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")

    assert run(store.active_sandbox()) is None
    assert run(store.breaker()) == BreakerState()
    assert run(store.conversation("chat")) is None
    assert run(store.heal_history(10)) == ()


def test_what_is_written_is_read_back_by_another_opening(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    store = open_store(path)
    breaker = BreakerState(failures=(1.0, 2.5), opened_at=2.5)

    run(store.set_active_sandbox(SandboxName("box-heal")))
    run(store.save_breaker(breaker))
    run(store.save_conversation(conversation("chat", 3)))
    run(store.record_heal(heal(1)))
    store.close()
    again = open_store(path)

    assert run(again.active_sandbox()) == SandboxName("box-heal")
    assert run(again.breaker()) == breaker
    assert run(again.conversation("chat")) == conversation("chat", 3)
    assert run(again.heal_history(5)) == (heal(1),)


def test_saving_a_conversation_replaces_every_field(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    run(store.save_conversation(conversation("chat", 1)))

    run(store.save_conversation(conversation("chat", 7)))

    assert run(store.conversation("chat")) == conversation("chat", 7)
    assert run(store.conversations()) == (conversation("chat", 7),)


def test_forgetting_a_conversation_twice_succeeds(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    run(store.save_conversation(conversation("chat", 1)))

    run(store.forget_conversation("chat"))
    run(store.forget_conversation("chat"))

    assert run(store.conversation("chat")) is None


def test_heal_history_keeps_only_the_most_recent(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db", keep=3)

    for n in range(6):
        run(store.record_heal(heal(n, succeeded=n % 2 == 0)))

    assert run(store.heal_history(10)) == (
        heal(3, succeeded=False),
        heal(4),
        heal(5, succeeded=False),
    )
    assert run(store.heal_history(1)) == (heal(5, succeeded=False),)
    assert run(store.heal_history(0)) == ()


def test_an_undone_heal_is_marked_and_survives_a_reopen(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    store = open_store(path)
    for n in range(3):
        run(store.record_heal(heal(n, succeeded=n != 2)))

    marked = run(store.mark_heal_undone(2.0, 9.0))
    again = run(store.mark_heal_undone(2.0, 10.0))
    failed = run(store.mark_heal_undone(3.0, 9.0))
    store.close()

    assert (marked, again, failed) == (True, False, False)
    assert run(open_store(path).heal_history(10)) == (
        heal(0),
        heal(1).undone(9.0),
        heal(2, succeeded=False),
    )


def test_a_heal_record_written_before_undone_at_is_read_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    open_store(path).close()
    old = (
        '{"ended_at": 2.0, "sandbox": "box-1", "started_at": 1.0,'
        ' "steps": [], "succeeded": true, "trigger": "auth"}'
    )
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO heal_history (record) VALUES (?)", [old])
    db.close()

    (record,) = run(open_store(path).heal_history(10))

    assert record.held
    assert record.undone_at is None


def test_the_file_is_private_in_a_private_directory(tmp_path: Path) -> None:
    directory = tmp_path / "config" / "sandwarden"

    store = open_store(directory / "state.db")
    run(store.set_active_sandbox(SandboxName("box")))

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in os.listdir(directory):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600


def test_the_database_is_in_wal_mode_at_the_latest_schema(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    open_store(path).close()

    with sqlite3.connect(path) as db:
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]

    assert mode == "wal"
    assert version == len(MIGRATIONS)


def test_a_database_at_version_one_is_migrated_keeping_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute(
            "INSERT INTO conversations VALUES ('chat', 'box', 's-1', 5.0)",
        )
        db.execute("PRAGMA user_version = 1")

    store = open_store(path)

    assert run(store.conversation("chat")) == Conversation(
        "chat", SandboxName("box"), SessionId("s-1"), 5.0, turns=1
    )
    assert store.schema_version().unwrap() == len(MIGRATIONS)


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")

    result = SqliteStateStore.open(str(path))

    assert not is_successful(result)
    assert result.failure().kind is ErrorKind.STORAGE
    assert "upgrade sandwarden" in result.failure().message
    assert str(path) in result.failure().message


def test_a_file_that_is_not_a_database_fails_naming_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite, " * 100)

    result = SqliteStateStore.open(str(path))

    assert not is_successful(result)
    assert result.failure().kind is ErrorKind.STORAGE
    assert str(path) in result.failure().message


def test_an_unreadable_stored_value_is_a_storage_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    store = open_store(path)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO kv VALUES ('breaker', '{not json')")
        db.execute("INSERT INTO kv VALUES ('active_sandbox', 'a b')")

    breaker = asyncio.run(store.breaker())
    active = asyncio.run(store.active_sandbox())

    assert breaker.failure().kind is ErrorKind.STORAGE
    assert "breaker" in breaker.failure().message
    assert active.failure().kind is ErrorKind.STORAGE


def test_the_heal_lock_refuses_a_second_owner_until_released(
    tmp_path: Path,
) -> None:
    store = open_store(tmp_path / "state.db")

    first = run(store.acquire_heal_lock("a", 60.0))
    second = run(store.acquire_heal_lock("b", 60.0))
    run(store.release_heal_lock("b"))
    still = run(store.acquire_heal_lock("b", 60.0))
    run(store.release_heal_lock("a"))
    after = run(store.acquire_heal_lock("b", 60.0))

    assert (first, second, still, after) == (True, False, False, True)


def test_the_holder_may_extend_its_hold(tmp_path: Path) -> None:
    now = [1000.0]
    store = open_store(tmp_path / "state.db", now=lambda: now[0])
    run(store.acquire_heal_lock("a", 10.0))

    now[0] = 1008.0
    extended = run(store.acquire_heal_lock("a", 10.0))
    now[0] = 1015.0

    assert extended
    assert not run(store.acquire_heal_lock("b", 10.0))
    assert run(store.heal_lock_holder()) == ("a", 1018.0)


def test_an_expired_hold_is_taken_over(tmp_path: Path) -> None:
    now = [1000.0]
    store = open_store(tmp_path / "state.db", now=lambda: now[0])
    run(store.acquire_heal_lock("a", 10.0))

    now[0] = 1010.0

    assert run(store.heal_lock_holder()) is None
    assert run(store.acquire_heal_lock("b", 10.0))


def test_a_lock_without_a_positive_ttl_is_refused(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")

    result = asyncio.run(store.acquire_heal_lock("a", 0.0))

    assert result.failure().kind is ErrorKind.INVALID_INPUT


_OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["save", "forget"]),
        st.sampled_from(["a", "b", "c"]),
        st.integers(1, 1000),
    ),
    max_size=25,
)


@settings(max_examples=25, deadline=None)
@given(operations=_OPERATIONS)
def test_conversations_behave_like_a_dictionary(
    operations: list[tuple[str, str, int]],
) -> None:
    model: dict[str, Conversation] = {}
    with tempfile.TemporaryDirectory() as directory:
        store = open_store(Path(directory) / "state.db")

        for action, key, n in operations:
            if action == "save":
                model[key] = conversation(key, n)
                run(store.save_conversation(model[key]))
            else:
                model.pop(key, None)
                run(store.forget_conversation(key))

        for key in ("a", "b", "c"):
            assert run(store.conversation(key)) == model.get(key)
        store.close()


# A writer that never stops: each round writes a conversation whose fields
# all derive from one counter, the active sandbox, and a heal record, then
# prints the counter once all three are committed.
_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from returns.pipeline import is_successful
    from sandwarden.adapters.sqlite_store import SqliteStateStore
    from sandwarden.domain.conversation import Conversation
    from sandwarden.domain.healing import HealRecord
    from sandwarden.domain.values import SandboxName, SessionId

    async def main(path, n):
        store = SqliteStateStore.open(path, history_keep=50).unwrap()
        while True:
            n += 1
            box = SandboxName(f"box-{n}")
            conversation = Conversation(
                f"c{n % 5}", box, SessionId(f"s-{n}"), float(n), n
            )
            record = HealRecord(
                float(n), float(n), "x" * (n % 500), True, box.value,
                tuple(f"step {i}" for i in range(n % 7)),
            )
            for write in (
                store.save_conversation(conversation),
                store.set_active_sandbox(box),
                store.record_heal(record),
            ):
                assert is_successful(await write)
            print(n, flush=True)

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """,
)


def _check_consistent(path: Path) -> int:
    """Check every row was written whole; return the highest counter."""
    store = open_store(path, keep=50)
    conversations = run(store.conversations())
    for found in conversations:
        n = found.turns
        assert found == conversation(f"c{n % 5}", n)
    highest = max((c.turns for c in conversations), default=0)
    for record in run(store.heal_history(100)):
        n = int(record.started_at)
        assert record.sandbox == f"box-{n}"
        assert record.trigger == "x" * (n % 500)
        assert len(record.steps) == n % 7
    active = run(store.active_sandbox())
    # the kill may fall between the conversation's write and this one
    assert active in {
        SandboxName(f"box-{highest}"),
        SandboxName(f"box-{highest - 1}"),
    }
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    return highest


def test_a_writer_killed_at_random_moments_loses_nothing_committed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    seed = random.randrange(2**32)
    chance = random.Random(seed)
    committed = 0

    for _ in range(5):
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(committed)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        first = writer.stdout.readline()
        time.sleep(chance.uniform(0.0, 0.25))
        writer.send_signal(signal.SIGKILL)
        printed = [first, *writer.communicate()[0].split()]
        last_printed = int(printed[-1])

        highest = _check_consistent(path)

        assert last_printed <= highest <= last_printed + 1, seed
        committed = highest


# One of several processes that saw the active sandbox "old" fail at the
# same time: whoever gets the lock first heals, the others use its result.
_HEALER = textwrap.dedent(
    """
    import asyncio, os, sys
    from sandwarden.adapters.sqlite_store import SqliteStateStore
    from sandwarden.domain.values import SandboxName

    async def main(path):
        me = f"pid-{os.getpid()}"
        store = SqliteStateStore.open(path).unwrap()
        print("ready", flush=True)
        sys.stdin.readline()
        while not (await store.acquire_heal_lock(me, 5.0)).unwrap():
            await asyncio.sleep(0.02)
        active = (await store.active_sandbox()).unwrap()
        if active == SandboxName("old"):
            await asyncio.sleep(0.3)
            await store.set_active_sandbox(SandboxName(f"healed-{me}"))
            print("healed", f"healed-{me}", flush=True)
        else:
            print("used", active.value, flush=True)
        (await store.release_heal_lock(me)).unwrap()

    asyncio.run(main(sys.argv[1]))
    """,
)


def test_of_processes_seeing_one_failure_one_heals_and_others_reuse(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    run(open_store(path).set_active_sandbox(SandboxName("old")))
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _HEALER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"

    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    answers = [
        process.communicate(timeout=30)[0].split() for process in processes
    ]

    healed = [answer for answer in answers if answer[0] == "healed"]
    assert len(healed) == 1
    result = healed[0][1]
    assert sorted(answers) == sorted(
        [["healed", result]] + [["used", result]] * 3,
    )
    assert run(open_store(path).active_sandbox()) == SandboxName(result)


_HOLDER = textwrap.dedent(
    """
    import asyncio, sys, time
    from sandwarden.adapters.sqlite_store import SqliteStateStore

    async def main(path):
        store = SqliteStateStore.open(path).unwrap()
        assert (await store.acquire_heal_lock("doomed", 1.5)).unwrap()
        print("held", flush=True)
        time.sleep(60)

    asyncio.run(main(sys.argv[1]))
    """,
)


def test_a_killed_holder_loses_the_lock_when_its_ttl_runs_out(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    store = open_store(path)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait()

    refused = run(store.acquire_heal_lock("survivor", 5.0))
    held = run(store.heal_lock_holder())
    give_up = time.monotonic() + 10
    while not run(store.acquire_heal_lock("survivor", 5.0)):
        assert time.monotonic() < give_up, "the dead holder kept the lock"
        time.sleep(0.05)
    taken_at = time.time()

    assert not refused
    assert held is not None
    assert held[0] == "doomed"
    assert taken_at >= held[1]
