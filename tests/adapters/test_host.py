from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import subprocess
from pathlib import Path

from returns.pipeline import is_successful

from sandwarden.adapters.host import LocalHost
from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.values import Workspace


def workspace(path: Path) -> Workspace:
    return Workspace.parse(str(path)).unwrap()


def git(directory: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(directory), *args],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
        },
    )
    return completed.stdout.strip()


def test_git_head_is_the_commit_of_the_workspace(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    git(tmp_path, "commit", "-q", "--allow-empty", "-m", "one")
    expected = git(tmp_path, "rev-parse", "HEAD")

    head = asyncio.run(LocalHost().git_head(workspace(tmp_path)))

    assert head.unwrap() == expected


def test_a_directory_outside_any_repository_has_no_head(
    tmp_path: Path,
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()

    head = asyncio.run(
        LocalHost().git_head(workspace(plain)),
    )

    assert head.unwrap() is None


def test_a_repository_without_commits_has_no_head(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")

    head = asyncio.run(LocalHost().git_head(workspace(tmp_path)))

    assert head.unwrap() is None


def test_a_missing_workspace_fails_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "gone"

    head = asyncio.run(LocalHost().git_head(workspace(missing)))

    assert head.failure().kind is ErrorKind.NOT_FOUND
    assert str(missing) in head.failure().message


def test_missing_git_is_a_failure_not_an_answer(tmp_path: Path) -> None:
    host = LocalHost(git=str(tmp_path / "no-git-here"))

    head = asyncio.run(host.git_head(workspace(tmp_path)))

    assert not is_successful(head)
    assert "git" in head.failure().message


def test_a_git_that_hangs_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    slow = tmp_path / "slow-git"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    host = LocalHost(git=str(slow), git_timeout=0.2)

    head = asyncio.run(host.git_head(workspace(tmp_path)))

    assert head.failure().kind is ErrorKind.TIMEOUT


def test_resolve_follows_symbolic_links(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    host = LocalHost()

    assert host.resolve(workspace(tmp_path / "link")) == str(real.resolve())
    assert host.resolve(workspace(tmp_path / "nope")) == str(tmp_path / "nope")


def test_a_private_directory_is_0700_even_if_it_existed(
    tmp_path: Path,
) -> None:
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    host = LocalHost()

    host.ensure_private_dir(str(existing)).unwrap()
    host.ensure_private_dir(str(tmp_path / "a" / "b")).unwrap()

    assert stat.S_IMODE(existing.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700


def test_written_text_is_private_and_replaces_the_old(tmp_path: Path) -> None:
    target = tmp_path / "note.txt"
    target.write_text("old")
    host = LocalHost()

    host.write_text(str(target), "new ünïcode").unwrap()

    assert host.read_text(str(target)).unwrap() == "new ünïcode"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == ["note.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_debris(
    tmp_path: Path,
) -> None:
    target = tmp_path / "note.txt"
    target.write_text("old")
    host = LocalHost()

    result = host.write_text(str(target), "bad \udcff surrogate")

    assert result.failure().kind is ErrorKind.INVALID_INPUT
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["note.txt"]


def test_writing_into_a_missing_directory_fails_naming_the_path(
    tmp_path: Path,
) -> None:
    target = tmp_path / "missing" / "note.txt"

    result = LocalHost().write_text(str(target), "x")

    assert result.failure().kind is ErrorKind.STORAGE
    assert str(target) in result.failure().message


def test_commit_file_renames_a_private_synced_copy(tmp_path: Path) -> None:
    temporary = tmp_path / "backup.tar.part"
    temporary.write_bytes(b"tar bytes")
    temporary.chmod(0o644)
    final = tmp_path / "backup.tar"
    host = LocalHost()

    host.commit_file(str(temporary), str(final)).unwrap()

    assert not temporary.exists()
    assert final.read_bytes() == b"tar bytes"
    assert stat.S_IMODE(final.stat().st_mode) == 0o600


def test_size_and_checksum_describe_the_contents(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "blob"
    path.write_bytes(data)
    host = LocalHost()

    assert host.file_size(str(path)).unwrap() == len(data)
    assert host.sha256(str(path)).unwrap() == hashlib.sha256(data).hexdigest()
    assert host.sha256(str(tmp_path / "nope")).failure().kind is (
        ErrorKind.NOT_FOUND
    )


def test_listing_is_sorted_and_a_missing_directory_is_empty(
    tmp_path: Path,
) -> None:
    for name in ("b", "a", "c"):
        (tmp_path / name).write_text("")
    host = LocalHost()

    assert host.list_dir(str(tmp_path)).unwrap() == ("a", "b", "c")
    assert host.list_dir(str(tmp_path / "nope")).unwrap() == ()


def test_a_link_is_replaced_atomically(tmp_path: Path) -> None:
    link = tmp_path / "latest.tar"
    host = LocalHost()

    host.replace_link(str(link), "one.tar").unwrap()
    first = host.read_link(str(link)).unwrap()
    host.replace_link(str(link), "two.tar").unwrap()

    assert first == "one.tar"
    assert host.read_link(str(link)).unwrap() == "two.tar"
    assert sorted(os.listdir(tmp_path)) == ["latest.tar"]


def test_a_link_cannot_replace_a_directory(tmp_path: Path) -> None:
    directory = tmp_path / "latest.tar"
    directory.mkdir()
    host = LocalHost()

    result = host.replace_link(str(directory), "one.tar")

    assert result.failure().kind is ErrorKind.STORAGE
    assert sorted(os.listdir(tmp_path)) == ["latest.tar"]


def test_a_missing_link_reads_as_none(tmp_path: Path) -> None:
    assert LocalHost().read_link(str(tmp_path / "nope")).unwrap() is None


def test_a_plain_file_or_directory_reads_as_no_link(tmp_path: Path) -> None:
    plain = tmp_path / "backup.tar"
    plain.write_bytes(b"tar")
    link = tmp_path / "latest.tar"
    link.symlink_to("backup.tar")
    host = LocalHost()

    read = [host.read_link(str(p)) for p in (plain, tmp_path, link)]

    assert [r.unwrap() for r in read] == [None, None, "backup.tar"]


def test_the_size_of_a_missing_file_is_not_found_naming_it(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "nope.tar"

    size = LocalHost().file_size(str(missing))

    assert size.failure().kind is ErrorKind.NOT_FOUND
    assert str(missing) in size.failure().message


def test_a_private_file_is_created_empty_with_mode_0600(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".backup.tar.partial"
    old = os.umask(0)
    try:
        created = LocalHost().create_private_file(str(path))
    finally:
        os.umask(old)

    assert is_successful(created)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == b""


def test_a_private_file_never_takes_over_an_existing_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".backup.tar.partial"
    path.write_bytes(b"another export")

    created = LocalHost().create_private_file(str(path))

    assert created.failure().kind is ErrorKind.ALREADY_EXISTS
    assert path.read_bytes() == b"another export"
