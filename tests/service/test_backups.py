"""Backups: names, manifests, links, rotation, failures and restores."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.adapters.host import LocalHost
from sandwarden.domain.backups import Manifest
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.sandbox import Capabilities, Operation, SandboxSpec
from sandwarden.domain.values import ImageTag, SandboxName, Workspace
from sandwarden.ports import Host
from sandwarden.service.backups import BackupMethod, Backups, Integrity
from sandwarden.service.config import WardenConfig
from sandwarden.service.deps import Deps
from sandwarden.service.journal import Journal
from sandwarden.service.probe import Prober
from sandwarden.simulator import (
    InMemoryStateStore,
    RecordingAlerts,
    SimulatedHost,
    SimulatedRuntime,
    VirtualClock,
    World,
)
from sandwarden.simulator.images import export_tar, load_tar
from sandwarden.simulator.world import Login, LoginMethod, Tool

NAME = SandboxName("main")
WORKSPACE = Workspace("/srv/app")
TEMPLATE = ImageTag("sandwarden-auth", "latest")
DIRECTORY = "/home/op/.config/sandwarden/templates"
# EPOCH is 2026-01-01T00:00:00Z; the runtime's calls take a few seconds.
FIRST = "sandwarden-auth__latest_20260101T0000"
LINK = f"{DIRECTORY}/sandwarden-auth__latest_latest.tar"


@dataclass
class Rig:
    """A world with a logged-in sandbox and a saved template."""

    world: World
    clock: VirtualClock
    runtime: SimulatedRuntime
    deps: Deps
    backups: Backups

    def wait(self, seconds: float) -> None:
        self.clock.run(asyncio.sleep(seconds))


def rig(
    runtime_type: type[SimulatedRuntime] = SimulatedRuntime,
    *,
    host: Host | None = None,
    directory: str = DIRECTORY,
    keep: int = 3,
    tool: Tool = Tool.DOCKER_SANDBOX,
) -> Rig:
    world = World(seed=5, tool=tool)
    clock = VirtualClock()
    runtime = runtime_type(world, clock)
    deps = Deps(
        runtime=runtime,
        clock=clock,
        store=InMemoryStateStore(clock),
        host=host or SimulatedHost(world),
        alerts=RecordingAlerts(world, clock),
        journal=Journal(),
        config=WardenConfig(NAME, WORKSPACE, template=TEMPLATE),
    )

    async def arrange() -> None:
        (await runtime.create(SandboxSpec(NAME, WORKSPACE))).unwrap()
        world.sandboxes[NAME.value].login = Login()
        (await runtime.save(NAME, TEMPLATE)).unwrap()

    clock.run(arrange())
    backups = Backups(deps, Prober(deps), directory=directory, keep=keep)

    return Rig(world, clock, runtime, deps, backups)


def backup_files(world: World) -> list[str]:
    return sorted(
        os.path.basename(path)
        for path in world.files
        if path.startswith(DIRECTORY + "/") and path.endswith(".tar")
    )


def events(world: World) -> list[str]:
    return [event.what for event in world.events]


def test_a_backup_is_named_with_its_utc_time_in_the_directory() -> None:
    r = rig()

    made = r.clock.run(r.backups.create()).unwrap()

    name = os.path.basename(made.path)
    assert made.path == f"{DIRECTORY}/{name}"
    assert name.startswith(FIRST)
    assert name.endswith("Z.tar")
    assert DIRECTORY in r.world.dirs


def test_the_manifest_holds_the_files_size_and_sha256() -> None:
    r = rig()

    made = r.clock.run(r.backups.create()).unwrap()

    data = r.world.files[made.path]
    text = r.world.files[made.path + ".manifest.json"].decode()
    manifest = Manifest.from_json(text).unwrap()
    assert manifest == made.manifest
    assert manifest.size == len(data)
    assert manifest.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.template == TEMPLATE
    assert json.loads(text)["tool"].startswith("docker-sandbox")


def test_the_latest_link_points_at_the_newest_backup() -> None:
    r = rig()
    first = r.clock.run(r.backups.create()).unwrap()

    second = r.clock.run(r.backups.create()).unwrap()

    assert first.path != second.path
    assert r.world.links[LINK] == os.path.basename(second.path)


def test_two_backups_within_a_second_get_different_names() -> None:
    r = rig()
    r.runtime._latency["image"] = 0.0

    first = r.clock.run(r.backups.create()).unwrap()
    second = r.clock.run(r.backups.create()).unwrap()

    assert first.path != second.path
    assert len(backup_files(r.world)) == 2


def test_rotation_keeps_the_newest_n_and_their_manifests() -> None:
    r = rig(keep=3)
    made = [r.clock.run(r.backups.create()).unwrap() for _ in range(5)]

    remaining = backup_files(r.world)

    newest = sorted(os.path.basename(m.path) for m in made)[-3:]
    assert remaining == newest
    manifests = [p for p in r.world.files if p.endswith(".manifest.json")]
    assert len(manifests) == 3
    assert made[-1].pruned == (os.path.basename(made[1].path),)


def test_prune_never_deletes_the_newest_even_keeping_none() -> None:
    r = rig(keep=5)
    made = [r.clock.run(r.backups.create()).unwrap() for _ in range(3)]
    backups = Backups(r.deps, Prober(r.deps), directory=DIRECTORY, keep=0)

    pruned = backups.prune().unwrap()

    assert pruned.kept == (os.path.basename(made[-1].path),)
    assert backup_files(r.world) == [os.path.basename(made[-1].path)]


class FailingExport(SimulatedRuntime):
    """Writes half a tar, then fails, as a full disk would."""

    async def image_export(
        self, tag: ImageTag, path: str
    ) -> Result[None, WardenError]:
        await self._clock.sleep(2.0)
        self.world.files[path] = b"half a tar"
        return Failure(
            WardenError(ErrorKind.STORAGE, "no space left on device"),
        )


def test_a_failed_export_leaves_no_file_behind() -> None:
    r = rig(FailingExport)

    made = r.clock.run(r.backups.create())

    assert made.failure().message == "no space left on device"
    assert [p for p in r.world.files if p.startswith(DIRECTORY)] == []
    assert LINK not in r.world.links


class HangingExport(SimulatedRuntime):
    """Writes a piece of the tar every virtual second, for ever."""

    async def image_export(
        self, tag: ImageTag, path: str
    ) -> Result[None, WardenError]:
        while True:
            data = self.world.files.get(path, b"")
            self.world.files[path] = data + b"x" * 1000
            await self._clock.sleep(1.0)


def test_a_cancelled_export_leaves_no_file_behind() -> None:
    r = rig(HangingExport)
    seen: list[tuple[int, int | None]] = []

    async def cancelled() -> None:
        task = asyncio.ensure_future(
            r.backups.create(progress=lambda d, t: seen.append((d, t))),
        )
        await asyncio.sleep(10.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    r.clock.run(cancelled())

    assert [p for p in r.world.files if p.startswith(DIRECTORY)] == []
    sizes = [done for done, _ in seen]
    assert sizes == sorted(sizes)
    assert sizes[-1] >= 9000
    assert {total for _, total in seen} == {None}


class SlowExport(SimulatedRuntime):
    """Writes the tar in four pieces, a virtual second apart."""

    async def image_export(
        self, tag: ImageTag, path: str
    ) -> Result[None, WardenError]:
        data = export_tar(self.world, str(tag)) or b""
        quarter = len(data) // 4 + 1
        for end in range(quarter, len(data) + quarter, quarter):
            self.world.files[path] = data[:end]
            await self._clock.sleep(1.0)

        return Success(None)


def test_a_long_export_reports_growing_progress_then_the_total() -> None:
    r = rig(SlowExport)
    seen: list[tuple[int, int | None]] = []

    made = r.clock.run(
        r.backups.create(progress=lambda d, t: seen.append((d, t))),
    ).unwrap()

    size = made.manifest.size
    assert seen[-1] == (size, size)
    growing = sorted({done for done, _ in seen[:-1]})
    assert len(growing) >= 4
    assert 0 < growing[1] < size


def test_an_image_store_that_is_down_refuses_a_backup() -> None:
    r = rig()
    r.world.image_store_up = False

    made = r.clock.run(r.backups.create())

    assert made.failure().kind is ErrorKind.DESKTOP_REQUIRED
    assert backup_files(r.world) == []


def test_a_missing_template_names_the_command_that_saves_one() -> None:
    r = rig()
    r.world.tags.clear()

    made = r.clock.run(r.backups.create())

    assert made.failure().kind is ErrorKind.NOT_FOUND
    assert "`sandwarden template save`" in made.failure().message


def test_create_with_save_saves_the_sandbox_first() -> None:
    r = rig()
    before = r.world.tags[str(TEMPLATE)]

    made = r.clock.run(r.backups.create(save=True)).unwrap()

    assert made.saved is not None
    assert made.saved.previous == ImageTag("sandwarden-auth", "prev")
    assert r.world.tags[str(TEMPLATE)] != before
    loaded = json.loads(
        r.world.files[made.path + ".manifest.json"],
    )
    assert (
        loaded["sha256"]
        == hashlib.sha256(
            export_tar(r.world, str(TEMPLATE)) or b"",
        ).hexdigest()
    )


def test_list_gives_size_age_integrity_and_the_latest() -> None:
    r = rig(keep=10)
    made = [r.clock.run(r.backups.create()).unwrap() for _ in range(4)]
    r.world.files[made[0].path] += b"tampered"
    del r.world.files[made[1].path + ".manifest.json"]
    r.clock.run(asyncio.sleep(3600.0))

    plain = r.clock.run(r.backups.list()).unwrap()
    checked = r.clock.run(r.backups.list(verify=True)).unwrap()

    assert [b.path for b in plain] == [m.path for m in reversed(made)]
    by_path = {b.path: b for b in plain}
    assert by_path[made[3].path].latest
    assert by_path[made[3].path].integrity is Integrity.UNCHECKED
    assert by_path[made[3].path].size == made[3].manifest.size
    assert by_path[made[1].path].integrity is Integrity.NO_MANIFEST
    assert by_path[made[0].path].integrity is Integrity.CORRUPT
    assert 3600.0 <= by_path[made[3].path].age < 3700.0
    assert [b.integrity for b in checked[:2]] == [Integrity.VERIFIED] * 2
    assert not any(b.latest for b in plain[1:])


def test_a_tar_whose_bytes_changed_is_corrupt_only_when_verified() -> None:
    r = rig()
    made = r.clock.run(r.backups.create()).unwrap()
    data = bytearray(r.world.files[made.path])
    data[100] ^= 0xFF
    r.world.files[made.path] = bytes(data)

    plain = r.clock.run(r.backups.list()).unwrap()
    checked = r.clock.run(r.backups.list(verify=True)).unwrap()

    assert plain[0].integrity is Integrity.UNCHECKED
    assert checked[0].integrity is Integrity.CORRUPT
    assert "SHA-256" in checked[0].why


def test_restore_refuses_a_corrupted_tar_before_loading_it() -> None:
    r = rig()
    made = r.clock.run(r.backups.create()).unwrap()
    data = bytearray(r.world.files[made.path])
    data[-1] ^= 0x01
    r.world.files[made.path] = bytes(data)
    r.world.sandboxes[NAME.value].login = Login(LoginMethod.NONE)

    restored = r.clock.run(r.backups.restore(force=True))

    error = restored.failure()
    assert error.kind is ErrorKind.STORAGE
    assert "SHA-256" in error.message
    assert "nothing was loaded" in error.message
    assert not any(e.startswith("load ") for e in events(r.world))
    assert not any(e.startswith("remove ") for e in events(r.world))


def test_restore_refuses_a_truncated_tar() -> None:
    r = rig()
    made = r.clock.run(r.backups.create()).unwrap()
    r.world.files[made.path] = r.world.files[made.path][:-512]

    restored = r.clock.run(r.backups.restore())

    assert restored.failure().kind is ErrorKind.STORAGE
    assert "truncated" in restored.failure().message


def test_restore_without_a_manifest_needs_force() -> None:
    r = rig()
    made = r.clock.run(r.backups.create()).unwrap()
    del r.world.files[made.path + ".manifest.json"]

    refused = r.clock.run(r.backups.restore())
    forced = r.clock.run(r.backups.restore(force=True))

    assert refused.failure().kind is ErrorKind.NOT_FOUND
    assert "--force" in refused.failure().message
    assert forced.unwrap().verified is False
    assert forced.unwrap().template == TEMPLATE


def test_restore_without_any_backup_says_how_to_make_one() -> None:
    r = rig()

    restored = r.clock.run(r.backups.restore())

    assert restored.failure().kind is ErrorKind.NOT_FOUND
    assert "`sandwarden backup create`" in restored.failure().message


def test_restore_end_to_end_replaces_a_broken_sandbox() -> None:
    r = rig()
    made = r.clock.run(r.backups.create()).unwrap()
    # The store is lost (Docker reinstalled) and the login expired.
    r.world.tags.clear()
    r.world.images.clear()
    r.world.sandboxes[NAME.value].login = Login(LoginMethod.NONE)
    r.world.events.clear()
    seen: list[tuple[int, int | None]] = []

    restored = r.clock.run(
        r.backups.restore(progress=lambda d, t: seen.append((d, t))),
    ).unwrap()

    assert restored.backup == made.path
    assert restored.verified
    assert restored.template == TEMPLATE
    assert restored.loaded == (TEMPLATE,)
    assert restored.replaced
    sandbox = r.world.sandboxes[NAME.value]
    assert sandbox.template == str(TEMPLATE)
    assert sandbox.workspaces == [WORKSPACE.path]
    assert sandbox.login.method is LoginMethod.CLAUDE_AI
    order = [
        next(i for i, e in enumerate(events(r.world)) if e.startswith(p))
        for p in ("load ", "remove main", "create main")
    ]
    assert order == sorted(order)
    assert seen[-1] == (made.manifest.size, made.manifest.size)
    assert r.clock.run(r.deps.store.active_sandbox()).unwrap() == NAME
    assert len(restored.steps) == 5


def test_restore_of_a_missing_sandbox_creates_it() -> None:
    r = rig()
    r.clock.run(r.backups.create()).unwrap()
    del r.world.sandboxes[NAME.value]

    restored = r.clock.run(r.backups.restore()).unwrap()

    assert not restored.replaced
    assert NAME.value in r.world.sandboxes


def test_restore_reports_a_template_without_a_login() -> None:
    r = rig()
    r.world.images[r.world.tags[str(TEMPLATE)]].login = Login(
        LoginMethod.NONE,
    )
    r.clock.run(r.backups.create()).unwrap()

    restored = r.clock.run(r.backups.restore())

    error = restored.failure()
    assert error.kind is ErrorKind.AUTH
    assert "the restored sandbox main is not usable" in error.message
    assert "created main from sandwarden-auth:latest" in error.message


class RealFiles(SimulatedRuntime):
    """The simulator, exporting to and loading from real files."""

    exports: list[str]

    async def image_export(
        self, tag: ImageTag, path: str
    ) -> Result[None, WardenError]:
        self.exports = [*getattr(self, "exports", []), path]
        data = export_tar(self.world, str(tag))
        assert data is not None
        # A blocking write is the point: it is the real file system.
        Path(path).write_bytes(data)  # noqa: ASYNC240
        return Success(None)

    async def image_load(
        self,
        path: str,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Result[tuple[ImageTag, ...], WardenError]:
        loaded = load_tar(self.world, Path(path).read_bytes())  # noqa: ASYNC240
        return loaded.map(
            lambda tags: tuple(ImageTag.parse(t).unwrap() for t in tags),
        )


def test_on_a_real_disk_modes_are_private_and_the_rename_atomic(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "backups"
    r = rig(RealFiles, host=LocalHost(), directory=str(directory))
    assert isinstance(r.runtime, RealFiles)

    made = r.clock.run(r.backups.create()).unwrap()

    final = Path(made.path)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(final.stat().st_mode) == 0o600
    manifest = Path(made.path + ".manifest.json")
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o600
    (written,) = r.runtime.exports
    assert Path(written).parent == directory
    assert Path(written).name == f".{final.name}.partial"
    assert not Path(written).exists()
    link = directory / "sandwarden-auth__latest_latest.tar"
    assert os.readlink(link) == final.name
    assert hashlib.sha256(final.read_bytes()).hexdigest() == (
        made.manifest.sha256
    )
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [final.name, manifest.name, link.name],
    )


def test_on_a_real_disk_a_corrupted_tar_is_refused_before_loading(
    tmp_path: Path,
) -> None:
    r = rig(RealFiles, host=LocalHost(), directory=str(tmp_path))
    r.clock.run(r.backups.create()).unwrap()
    link = tmp_path / "sandwarden-auth__latest_latest.tar"
    with (tmp_path / os.readlink(link)).open("r+b") as handle:
        handle.seek(10)
        handle.write(b"\x00garbage\x00")
    r.world.tags.clear()

    restored = r.clock.run(r.backups.restore())

    assert not is_successful(restored)
    assert "SHA-256" in restored.failure().message
    assert r.world.tags == {}


def test_prune_clears_a_crashed_exports_leftover_but_not_a_running_one() -> (
    None
):
    r = rig()
    r.wait(3600.0)
    running = r.clock.run(r.backups.create()).unwrap()
    old = f"{DIRECTORY}/.sandwarden-auth__latest_20251231T000000Z.tar.partial"
    r.world.files[old] = b"crashed half"
    fresh = f"{DIRECTORY}/.{os.path.basename(running.path)}.partial"
    r.world.files[fresh] = b"someone else's export"

    pruned = r.backups.prune().unwrap()

    assert pruned.deleted == ()
    assert pruned.files == (os.path.basename(old),)
    assert old not in r.world.files
    assert fresh in r.world.files


def test_a_name_whose_temporary_exists_is_not_taken_over() -> None:
    r = rig()
    r.runtime._latency["image"] = 0.0
    at = r.clock.time() + 0.15
    name = f"sandwarden-auth__latest_{_stamp(at)}.tar"
    busy = f"{DIRECTORY}/.{name}.partial"
    r.world.files[busy] = b"another process is writing this"

    made = r.clock.run(r.backups.create()).unwrap()

    assert os.path.basename(made.path) != name
    assert r.world.files[busy] == b"another process is writing this"


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y%m%dT%H%M%SZ")


# Under sbx, which cannot export a stored template.

PREV = ImageTag("sandwarden-auth", "prev")


def test_a_backup_exports_the_stored_template_where_the_tool_can() -> None:
    r = rig()
    before = r.world.tags[str(TEMPLATE)]

    made = r.clock.run(r.backups.create()).unwrap()

    assert made.method is BackupMethod.EXPORT
    assert made.saved is None
    assert r.world.tags[str(TEMPLATE)] == before


def test_on_sbx_a_backup_saves_the_active_sandbox_writing_the_tar() -> None:
    r = rig(tool=Tool.SBX)
    before = r.world.tags[str(TEMPLATE)]

    made = r.clock.run(r.backups.create()).unwrap()

    assert made.method is BackupMethod.SNAPSHOT
    assert made.saved is not None
    assert made.saved.sandbox == NAME
    assert made.saved.previous == PREV
    assert r.world.tags[str(PREV)] != before
    assert r.world.tags[str(TEMPLATE)] != before
    data = r.world.files[made.path]
    assert data == export_tar(r.world, str(TEMPLATE))
    assert made.manifest.sha256 == hashlib.sha256(data).hexdigest()
    assert sorted(p for p in r.world.files if p.startswith(DIRECTORY)) == [
        made.path,
        made.path + ".manifest.json",
    ]
    assert r.world.links[LINK] == os.path.basename(made.path)
    assert any("while saving sandbox main" in n for n in _notes(r))


def test_on_sbx_a_logged_out_sandbox_is_not_backed_up() -> None:
    r = rig(tool=Tool.SBX)
    before = dict(r.world.tags)
    r.world.sandboxes[NAME.value].login = Login(LoginMethod.NONE)

    made = r.clock.run(r.backups.create())

    error = made.failure()
    assert error.kind is ErrorKind.AUTH
    assert "saves sandbox main as the template" in error.message
    assert [p for p in r.world.files if p.startswith(DIRECTORY)] == []
    assert r.world.tags == before


def test_on_sbx_a_failed_save_to_tar_leaves_no_file_behind() -> None:
    r = rig(FailingSaveToTar, tool=Tool.SBX)

    made = r.clock.run(r.backups.create())

    assert made.failure().message.startswith("no space left on device")
    assert [p for p in r.world.files if p.startswith(DIRECTORY)] == []
    assert LINK not in r.world.links


class FailingSaveToTar(SimulatedRuntime):
    """Writes half a tar, then fails, as a full disk would."""

    async def save_to_tar(
        self, name: SandboxName, tag: ImageTag, path: str
    ) -> Result[None, WardenError]:
        self.world.files[path] = b"half a tar"
        return Failure(
            WardenError(ErrorKind.STORAGE, "no space left on device"),
        )


def test_on_sbx_a_backup_restores_into_a_fresh_store() -> None:
    r = rig(tool=Tool.SBX)
    made = r.clock.run(r.backups.create()).unwrap()
    r.world.tags.clear()
    r.world.images.clear()
    r.world.sandboxes[NAME.value].login = Login(LoginMethod.NONE)

    restored = r.clock.run(r.backups.restore()).unwrap()

    assert restored.backup == made.path
    assert restored.verified
    assert restored.loaded == (TEMPLATE,)
    assert restored.replaced
    sandbox = r.world.sandboxes[NAME.value]
    assert sandbox.template == str(TEMPLATE)
    assert sandbox.login.method is LoginMethod.CLAUDE_AI


class NoTarAtAll(SimulatedRuntime):
    """A tool with neither an image export nor a save to a tar."""

    async def capabilities(self) -> Result[Capabilities, WardenError]:
        caps = (await super().capabilities()).unwrap()
        left = caps.operations - {
            Operation.IMAGE_EXPORT,
            Operation.SAVE_TO_TAR,
        }
        return Success(Capabilities(caps.tool, caps.version, True, left))


def test_a_tool_that_cannot_write_a_tar_refuses_the_backup() -> None:
    r = rig(NoTarAtAll)

    made = r.clock.run(r.backups.create())

    assert made.failure().kind is ErrorKind.UNSUPPORTED
    assert backup_files(r.world) == []


def _notes(r: Rig) -> list[str]:
    journal = r.deps.journal
    return [note.message for note in journal.notes]


def test_a_restore_reports_the_bytes_docker_has_taken() -> None:
    r = rig()
    made = r.clock.run(r.backups.create()).unwrap()
    size = made.manifest.size
    seen: list[tuple[int, int | None]] = []

    r.clock.run(
        r.backups.restore(progress=lambda d, t: seen.append((d, t))),
    ).unwrap()

    assert seen[-1] == (size, size)
    done = [d for d, _ in seen]
    assert done == sorted(done)
    assert len({d for d in done if 0 < d < size}) >= 2
    assert {t for _, t in seen} == {size}


def test_an_sbx_restore_reports_only_the_end_not_a_stuck_zero() -> None:
    r = rig(tool=Tool.SBX)
    made = r.clock.run(r.backups.create()).unwrap()
    size = made.manifest.size
    seen: list[tuple[int, int | None]] = []

    r.clock.run(
        r.backups.restore(progress=lambda d, t: seen.append((d, t))),
    ).unwrap()

    assert seen == [(size, size)]


def test_prune_counts_backups_on_both_sides_and_lists_every_file() -> None:
    r = rig(keep=5)
    made = [r.clock.run(r.backups.create()).unwrap() for _ in range(3)]
    backups = Backups(r.deps, Prober(r.deps), directory=DIRECTORY, keep=1)
    names = [os.path.basename(m.path) for m in made]

    pruned = backups.prune().unwrap()

    assert pruned.kept == (names[2],)
    assert sorted(pruned.deleted) == sorted(names[:2])
    assert sorted(pruned.files) == sorted(
        [*names[:2], *(f"{n}.manifest.json" for n in names[:2])],
    )


def test_on_a_real_disk_a_named_backup_file_restores(
    tmp_path: Path,
) -> None:
    r = rig(RealFiles, host=LocalHost(), directory=str(tmp_path))
    made = r.clock.run(r.backups.create()).unwrap()
    r.world.tags.clear()

    restored = r.clock.run(r.backups.restore(made.path))

    assert restored.unwrap().backup == made.path
    assert restored.unwrap().verified is True
    assert str(TEMPLATE) in r.world.tags


def test_on_a_real_disk_a_missing_named_file_is_not_found_naming_it(
    tmp_path: Path,
) -> None:
    r = rig(RealFiles, host=LocalHost(), directory=str(tmp_path))
    missing = str(tmp_path / "nope.tar")

    restored = r.clock.run(r.backups.restore(missing))

    assert restored.failure().kind is ErrorKind.NOT_FOUND
    assert missing in restored.failure().message


class DiesMidExport(RealFiles):
    """Writes half the tar the way `docker image save -o` does, then dies."""

    modes: list[int]

    async def image_export(
        self, tag: ImageTag, path: str
    ) -> Result[None, WardenError]:
        data = export_tar(self.world, str(tag))
        assert data is not None
        with open(path, "wb") as handle:  # noqa: ASYNC230
            handle.write(data[: len(data) // 2])
            handle.flush()
            self.modes = [stat.S_IMODE(os.fstat(handle.fileno()).st_mode)]
        return Failure(WardenError(ErrorKind.UNKNOWN, "killed"))


def test_on_a_real_disk_the_partial_tar_is_0600_while_it_is_written(
    tmp_path: Path,
) -> None:
    r = rig(DiesMidExport, host=LocalHost(), directory=str(tmp_path))
    assert isinstance(r.runtime, DiesMidExport)
    old = os.umask(0o022)
    try:
        made = r.clock.run(r.backups.create())
    finally:
        os.umask(old)

    assert not is_successful(made)
    assert r.runtime.modes == [0o600]
    assert list(tmp_path.iterdir()) == []
