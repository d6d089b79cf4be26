"""
The memory of one configured sandbox's warden in one SQLite file, shared by
every local process of that bot.

Choices, and why:

- One connection per store in autocommit mode; every write is an explicit
  ``BEGIN IMMEDIATE`` ... ``COMMIT``. A write is one transaction, and it
  takes the write lock up front, so two processes never deadlock trying
  to upgrade a read lock.
- WAL journal with ``synchronous=FULL``: readers never block the writer,
  a killed process leaves the last committed state, and a commit that
  returned survives a power cut too. Writes are rare (a turn, a heal), so
  an fsync per commit costs nothing that matters.
- The blocking calls run in a worker thread (``asyncio.to_thread``),
  one at a time behind a lock: a call may wait up to the busy timeout for
  another process, and the event loop must keep streaming meanwhile.
- ``PRAGMA user_version`` is the schema version; migrations run in order,
  each step in the same transaction as the version bump.
- The file is created 0600 in a 0700 directory (SQLite gives its ``-wal``
  and ``-shm`` files the database's mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.domain.breaker import BreakerState
from sandwarden.domain.conversation import Conversation
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.healing import HealRecord
from sandwarden.domain.values import SandboxName, SessionId

__all__ = ["MIGRATIONS", "SqliteStateStore"]

_T = TypeVar("_T")

_log = logging.getLogger("sandwarden.state")

#: Schema steps; step ``i`` takes the database from version ``i`` to
#: ``i + 1``. Append only: a released step is never edited.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE conversations ("
        " key TEXT PRIMARY KEY,"
        " sandbox TEXT NOT NULL,"
        " session_id TEXT NOT NULL,"
        " last_used REAL NOT NULL)",
        "CREATE TABLE heal_history ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " record TEXT NOT NULL)",
        "CREATE TABLE heal_lock ("
        " id INTEGER PRIMARY KEY CHECK (id = 1),"
        " owner TEXT NOT NULL,"
        " expires_at REAL NOT NULL)",
    ),
    # 2: conversations count their turns; old rows had at least one.
    (
        "ALTER TABLE conversations"
        " ADD COLUMN turns INTEGER NOT NULL DEFAULT 1",
        "CREATE INDEX conversations_by_last_use ON conversations (last_used)",
    ),
)

_ACTIVE = "active_sandbox"
_BREAKER = "breaker"
# Ten seconds: far above any of our transactions (milliseconds), short
# enough that a wedged peer shows up as an error instead of a hang.
_BUSY_TIMEOUT = 10.0


class SqliteStateStore:
    """
    The ``StateStore`` port on a SQLite file.

    Build it with ``open``; ``now`` is the wall clock the heal lock's
    expiry is measured on (shared by every process on the host).
    ``history_keep`` caps the heal history at the most recent records.
    """

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: str,
        *,
        now: Callable[[], float],
        history_keep: int,
    ) -> None:
        self._db = connection
        self._path = path
        self._now = now
        self._keep = history_keep
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        path: str,
        *,
        now: Callable[[], float] = time.time,
        history_keep: int = 200,
        busy_timeout: float = _BUSY_TIMEOUT,
    ) -> Result[SqliteStateStore, WardenError]:
        """Open (creating if needed) and migrate the database at ``path``."""
        if history_keep < 1:
            return Failure(
                WardenError.invalid(
                    f"history_keep {history_keep} is not usable; expected "
                    "at least 1",
                ),
            )
        try:
            _prepare_file(path)
            connection = sqlite3.connect(
                path,
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except (OSError, sqlite3.Error) as error:
            return Failure(_storage_error(path, "open", error))

        store = cls(connection, path, now=now, history_keep=history_keep)
        configured = store._write("migrate", _migrate, setup=True)
        if not is_successful(configured):
            connection.close()
            return Failure(configured.failure())

        return Success(store)

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    def close(self) -> None:
        """Close the connection; the store is unusable afterwards."""
        with self._lock:
            self._db.close()

    def schema_version(self) -> Result[int, WardenError]:
        """The schema version of the open database."""
        return self._read("schema_version", _user_version)

    async def active_sandbox(self) -> Result[SandboxName | None, WardenError]:
        """The sandbox prompts go to, once a heal has chosen one."""
        raw = await self._run(self._read, "active_sandbox", _get(_ACTIVE))
        if not is_successful(raw):
            return Failure(raw.failure())
        text = raw.unwrap()
        if text is None:
            return Success(None)

        return SandboxName.parse(text).alt(self._corrupt("active sandbox"))

    async def set_active_sandbox(
        self,
        name: SandboxName,
    ) -> Result[None, WardenError]:
        """Make ``name`` the active sandbox."""
        return await self._run(
            self._write, "set_active_sandbox", _put(_ACTIVE, name.value)
        )

    async def breaker(self) -> Result[BreakerState, WardenError]:
        """The breaker's state; a fresh one when nothing is stored."""
        raw = await self._run(self._read, "breaker", _get(_BREAKER))
        if not is_successful(raw):
            return Failure(raw.failure())
        text = raw.unwrap()
        if text is None:
            return Success(BreakerState())

        return BreakerState.from_json(text).alt(self._corrupt("breaker"))

    async def save_breaker(
        self,
        state: BreakerState,
    ) -> Result[None, WardenError]:
        """Store the breaker's state."""
        return await self._run(
            self._write, "save_breaker", _put(_BREAKER, state.to_json())
        )

    async def record_heal(
        self,
        record: HealRecord,
    ) -> Result[None, WardenError]:
        """Append a heal to the history, dropping the oldest past the cap."""
        text, keep = record.to_json(), self._keep

        def append(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO heal_history (record) VALUES (?)", [text])
            db.execute(
                "DELETE FROM heal_history"
                " WHERE id <= (SELECT MAX(id) FROM heal_history) - ?",
                [keep],
            )

        return await self._run(self._write, "record_heal", append)

    async def heal_history(
        self,
        limit: int,
    ) -> Result[tuple[HealRecord, ...], WardenError]:
        """The last ``limit`` heals, oldest first."""

        def select(db: sqlite3.Connection) -> list[tuple[int, str]]:
            rows = db.execute(
                "SELECT id, record FROM heal_history ORDER BY id DESC LIMIT ?",
                [max(0, limit)],
            ).fetchall()
            return [(int(row[0]), str(row[1])) for row in reversed(rows)]

        rows = await self._run(self._read, "heal_history", select)
        if not is_successful(rows):
            return Failure(rows.failure())
        records = []
        for row_id, text in rows.unwrap():
            parsed = HealRecord.from_json(text)
            if not is_successful(parsed):
                return Failure(
                    self._corrupt(f"heal record {row_id}")(parsed.failure()),
                )
            records.append(parsed.unwrap())

        return Success(tuple(records))

    async def mark_heal_undone(
        self,
        ended_at: float,
        at: float,
    ) -> Result[bool, WardenError]:
        """Mark the successful heal that ended at ``ended_at`` undone."""

        def mark(db: sqlite3.Connection) -> bool:
            rows = db.execute(
                "SELECT id, record FROM heal_history ORDER BY id DESC",
            )
            for row_id, text in rows.fetchall():
                parsed = HealRecord.from_json(str(text))
                # An unreadable row is heal_history's to report; it is
                # not the heal this breakage undid.
                if not is_successful(parsed):
                    continue
                record = parsed.unwrap()
                if record.held and record.ended_at == ended_at:
                    db.execute(
                        "UPDATE heal_history SET record = ? WHERE id = ?",
                        [record.undone(at).to_json(), row_id],
                    )
                    return True
            return False

        return await self._run(self._write, "mark_heal_undone", mark)

    async def conversation(
        self,
        key: str,
    ) -> Result[Conversation | None, WardenError]:
        """The stored conversation under ``key``, if any."""

        def select(db: sqlite3.Connection) -> tuple[object, ...] | None:
            row = db.execute(
                "SELECT key, sandbox, session_id, last_used, turns"
                " FROM conversations WHERE key = ?",
                [key],
            ).fetchone()
            return None if row is None else tuple(row)

        row = await self._run(self._read, "conversation", select)
        if not is_successful(row):
            return Failure(row.failure())
        found = row.unwrap()
        if found is None:
            return Success(None)

        return self._conversation_from(found)

    async def conversations(
        self,
    ) -> Result[tuple[Conversation, ...], WardenError]:
        """Every stored conversation, most recently used first."""

        def select(db: sqlite3.Connection) -> list[tuple[object, ...]]:
            return [
                tuple(row)
                for row in db.execute(
                    "SELECT key, sandbox, session_id, last_used, turns"
                    " FROM conversations ORDER BY last_used DESC, key",
                )
            ]

        rows = await self._run(self._read, "conversations", select)
        if not is_successful(rows):
            return Failure(rows.failure())
        found = []
        for row in rows.unwrap():
            parsed = self._conversation_from(row)
            if not is_successful(parsed):
                return Failure(parsed.failure())
            found.append(parsed.unwrap())

        return Success(tuple(found))

    async def save_conversation(
        self,
        conversation: Conversation,
    ) -> Result[None, WardenError]:
        """Store or replace a conversation, all its fields at once."""
        values = [
            conversation.key,
            conversation.sandbox.value,
            conversation.session_id.value,
            conversation.last_used,
            conversation.turns,
        ]

        def upsert(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO conversations"
                " (key, sandbox, session_id, last_used, turns)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET"
                " sandbox = excluded.sandbox,"
                " session_id = excluded.session_id,"
                " last_used = excluded.last_used,"
                " turns = excluded.turns",
                values,
            )

        return await self._run(self._write, "save_conversation", upsert)

    async def forget_conversation(
        self,
        key: str,
    ) -> Result[None, WardenError]:
        """Drop a conversation; forgetting a missing one succeeds."""

        def delete(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM conversations WHERE key = ?", [key])

        return await self._run(self._write, "forget_conversation", delete)

    async def acquire_heal_lock(
        self,
        owner: str,
        ttl: float,
    ) -> Result[bool, WardenError]:
        """
        Try to take the heal lock for ``ttl`` seconds; False: someone has it.

        The holder may call again to extend its hold; a holder that dies
        loses the lock when its ``ttl`` runs out.
        """
        if not ttl > 0 or not owner:
            return Failure(
                WardenError.invalid(
                    f"heal lock owner {owner!r} with ttl {ttl!r}; expected "
                    "a non-empty owner and a positive ttl in seconds",
                ),
            )
        now = self._now

        def take(db: sqlite3.Connection) -> bool:
            moment = now()
            row = db.execute(
                "SELECT owner, expires_at FROM heal_lock WHERE id = 1",
            ).fetchone()
            if row is not None and row[0] != owner and row[1] > moment:
                return False
            db.execute(
                "INSERT INTO heal_lock (id, owner, expires_at)"
                " VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " owner = excluded.owner, expires_at = excluded.expires_at",
                [owner, moment + ttl],
            )
            return True

        return await self._run(self._write, "acquire_heal_lock", take)

    async def release_heal_lock(self, owner: str) -> Result[None, WardenError]:
        """Give the lock back if ``owner`` holds it."""

        def delete(db: sqlite3.Connection) -> None:
            db.execute(
                "DELETE FROM heal_lock WHERE id = 1 AND owner = ?", [owner]
            )

        return await self._run(self._write, "release_heal_lock", delete)

    async def heal_lock_holder(
        self,
    ) -> Result[tuple[str, float] | None, WardenError]:
        """Who holds the heal lock and until when (wall clock), if anyone."""
        now = self._now

        def select(db: sqlite3.Connection) -> tuple[str, float] | None:
            row = db.execute(
                "SELECT owner, expires_at FROM heal_lock WHERE id = 1",
            ).fetchone()
            if row is None or row[1] <= now():
                return None
            return str(row[0]), float(row[1])

        return await self._run(self._read, "heal_lock_holder", select)

    async def _run(
        self,
        method: Callable[
            [str, Callable[[sqlite3.Connection], _T]],
            Result[_T, WardenError],
        ],
        operation: str,
        work: Callable[[sqlite3.Connection], _T],
    ) -> Result[_T, WardenError]:
        extra = {
            "sandwarden.operation": operation,
            "sandwarden.file": self._path,
        }
        _log.debug("state.%s.started", operation, extra=extra)
        result = await asyncio.to_thread(method, operation, work)
        if is_successful(result):
            _log.debug("state.%s.complete", operation, extra=extra)
        else:
            _log.debug(
                "state.%s.failed",
                operation,
                extra={**extra, "sandwarden.error": str(result.failure())},
            )

        return result

    def _read(
        self,
        operation: str,
        work: Callable[[sqlite3.Connection], _T],
    ) -> Result[_T, WardenError]:
        with self._lock:
            try:
                return Success(work(self._db))
            except sqlite3.Error as error:
                return Failure(_storage_error(self._path, operation, error))

    def _write(
        self,
        operation: str,
        work: Callable[[sqlite3.Connection], _T],
        *,
        setup: bool = False,
    ) -> Result[_T, WardenError]:
        """Run ``work`` as one transaction: all of it is kept, or none."""
        with self._lock:
            db = self._db
            try:
                if setup:
                    _configure(db)
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                return Failure(_storage_error(self._path, operation, error))
            try:
                value = work(db)
                db.execute("COMMIT")
            except sqlite3.Error as error:
                _roll_back(db)
                return Failure(_storage_error(self._path, operation, error))
            except _SchemaTooNewError as error:
                _roll_back(db)
                return Failure(
                    WardenError(
                        ErrorKind.STORAGE,
                        f"state database {self._path} has schema version "
                        f"{error.found}; this sandwarden knows up to "
                        f"{len(MIGRATIONS)}: upgrade sandwarden",
                    ),
                )
            except BaseException:
                _roll_back(db)
                raise

            return Success(value)

    def _conversation_from(
        self,
        row: tuple[object, ...],
    ) -> Result[Conversation, WardenError]:
        key, sandbox, session, last_used, turns = row
        what = f"conversation {key!r}"
        name = SandboxName.parse(str(sandbox))
        if not is_successful(name):
            return Failure(self._corrupt(what)(name.failure()))
        session_id = SessionId.parse(str(session))
        if not is_successful(session_id):
            return Failure(self._corrupt(what)(session_id.failure()))
        if not isinstance(last_used, float | int) or not isinstance(
            turns, int
        ):
            return Failure(
                self._corrupt(what)(
                    WardenError.invalid(
                        f"last_used {last_used!r} or turns {turns!r} "
                        "is not a number",
                    ),
                ),
            )

        return Success(
            Conversation(
                key=str(key),
                sandbox=name.unwrap(),
                session_id=session_id.unwrap(),
                last_used=float(last_used),
                turns=turns,
            ),
        )

    def _corrupt(self, what: str) -> Callable[[WardenError], WardenError]:
        def wrap(error: WardenError) -> WardenError:
            return WardenError(
                ErrorKind.STORAGE,
                f"state database {self._path}: stored {what} is unreadable",
                detail=error.message,
            )

        return wrap


class _SchemaTooNewError(Exception):
    def __init__(self, found: int) -> None:
        super().__init__(found)
        self.found = found


def _prepare_file(path: str) -> None:
    """Create the directory 0700 and the file 0600 before SQLite opens it."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    if os.stat(directory).st_mode & 0o077:
        os.chmod(directory, 0o700)
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    descriptor = os.open(path, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)


def _configure(db: sqlite3.Connection) -> None:
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")


def _migrate(db: sqlite3.Connection) -> None:
    version = _user_version(db)
    if version > len(MIGRATIONS):
        raise _SchemaTooNewError(version)
    for step in MIGRATIONS[version:]:
        for statement in step:
            db.execute(statement)
    # PRAGMA takes no parameters; the value is our own integer.
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")


def _user_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _get(key: str) -> Callable[[sqlite3.Connection], str | None]:
    def select(db: sqlite3.Connection) -> str | None:
        row = db.execute("SELECT value FROM kv WHERE key = ?", [key])
        found = row.fetchone()
        return None if found is None else str(found[0])

    return select


def _put(key: str, value: str) -> Callable[[sqlite3.Connection], None]:
    def upsert(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    return upsert


def _roll_back(db: sqlite3.Connection) -> None:
    # If even the rollback fails the connection is broken; the next call
    # reports that, and SQLite discards the transaction on its own.
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")


def _storage_error(
    path: str,
    operation: str,
    error: OSError | sqlite3.Error,
) -> WardenError:
    if isinstance(error, OSError):
        cause = error.strerror or str(error)
    else:
        cause = str(error)
    hint = ""
    if "locked" in cause or "busy" in cause:
        hint = (
            "; another process held the database longer than the busy timeout"
        )

    return WardenError(
        ErrorKind.STORAGE,
        f"state database {path}: {operation} failed: {cause}{hint}",
        detail=type(error).__name__,
    )
