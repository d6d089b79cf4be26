"""
What both fakes do to the world: sandboxes, images, live processes.

The fakes differ in what they print; the effects are shared and live
here. Processes are real host processes: a record names the pid, and a
record whose process is gone (or whose pid now belongs to a process
without the run's marker) is pruned on the next look.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import posixpath
import signal
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

from sandwarden.simulator.codec import from_plain, to_plain
from sandwarden.simulator.world import (
    Image,
    Login,
    LoginMethod,
    Process,
    Sandbox,
    World,
)

__all__ = [
    "REGISTRY_TEMPLATES",
    "ImageFileError",
    "default_name",
    "fake_sha",
    "forget_process",
    "is_alive",
    "kill_processes",
    "logged_out",
    "new_sandbox",
    "prune_processes",
    "read_image_file",
    "record_process",
    "resolve_workspace",
    "snapshot",
    "write_image_file",
]

#: Images any template reference under this prefix "pulls" fine: the
#: agents' stock templates live in Docker's registry.
REGISTRY_TEMPLATES = "docker/sandbox-templates:"
_IMAGE_MEMBER = "sandwarden-image.json"
_MARKER = "SANDWARDEN_RUN"


def fake_sha(seed: str) -> str:
    """A 40-hex commit id that stays the same for the same ``seed``."""
    return hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()


def resolve_workspace(raw: str, cwd: str) -> str:
    """An absolute, normalised workspace, keeping a ``:ro`` suffix."""
    path, suffix = raw, ""
    for mark in (":ro", ":readonly"):
        if raw.endswith(mark):
            path, suffix = raw.removesuffix(mark), ":ro"
    absolute = posixpath.normpath(posixpath.join(cwd, path))

    return absolute + suffix


def default_name(agent: str, workspace: str) -> str:
    """``<agent>-<basename of the workspace>``, as both tools name them."""
    base = posixpath.basename(workspace.removesuffix(":ro").rstrip("/"))
    return f"{agent}-{base or 'root'}"


def new_sandbox(
    world: World,
    name: str,
    agent: str,
    workspaces: Sequence[str],
    *,
    template: str | None,
    login: Login,
) -> Sandbox:
    """
    Add a running sandbox; a saved template brings its image's login.

    The caller has checked that ``template`` is known or pullable.
    """
    image_id = world.tags.get(template) if template else None
    if image_id is not None:
        image = world.images[image_id]
        login = dataclasses.replace(image.login)
        claude = dataclasses.replace(image.claude)
        sandbox = Sandbox(name, list(workspaces), agent, claude=claude)
    else:
        sandbox = Sandbox(name, list(workspaces), agent)
    sandbox.login = login
    sandbox.template = template
    sandbox.created_at = time.time()
    world.sandboxes[name] = sandbox

    return sandbox


def logged_out() -> Login:
    """The login of a fresh sandbox: nobody has run ``/login`` yet."""
    return Login(method=LoginMethod.NONE)


def snapshot(
    world: World,
    sandbox: Sandbox,
    tag: str,
    *,
    store: bool = True,
) -> Image:
    """Freeze ``sandbox`` into a new image, tagged ``tag`` if ``store``."""
    image = Image(
        id="sha256:" + world.next_hex(64),
        agent=sandbox.agent,
        login=dataclasses.replace(sandbox.login),
        claude=dataclasses.replace(sandbox.claude),
        source=sandbox.name,
        created_at=time.time(),
    )
    if store:
        world.images[image.id] = image
        world.tags[tag] = image.id

    return image


class ImageFileError(Exception):
    """A file given to ``load`` is not an image the fakes wrote."""


def write_image_file(path: Path, tags: Sequence[str], image: Image) -> None:
    """Write ``image`` as a tar with a Docker-like ``manifest.json``."""
    manifest = [
        {"Config": image.id.removeprefix("sha256:") + ".json"}
        | {"RepoTags": list(tags), "Layers": []},
    ]
    members = {
        "manifest.json": json.dumps(manifest).encode(),
        _IMAGE_MEMBER: json.dumps(to_plain(image), sort_keys=True).encode(),
    }
    with tarfile.open(path, "w") as archive:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def read_image_file(path: Path) -> tuple[list[str], Image]:
    """The tags and image of a tar that ``write_image_file`` wrote."""
    try:
        with tarfile.open(path, "r") as archive:
            manifest = _member(archive, "manifest.json")
            raw = _member(archive, _IMAGE_MEMBER)
        tags = [str(tag) for tag in json.loads(manifest)[0]["RepoTags"]]
        image = from_plain(Image, json.loads(raw))
    except (OSError, tarfile.TarError, ValueError, TypeError) as error:
        raise ImageFileError(str(error)) from error
    except (KeyError, IndexError) as error:
        msg = f"{path} lacks {error}"
        raise ImageFileError(msg) from error

    return tags, image


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    handle = archive.extractfile(name)
    if handle is None:
        raise KeyError(name)

    return handle.read()


def record_process(
    sandbox: Sandbox,
    pid: int,
    command: Sequence[str],
    marker: str,
) -> None:
    """Note that host process ``pid`` runs inside ``sandbox``."""
    sandbox.processes[str(pid)] = Process(
        pid,
        list(command),
        marker,
        time.time(),
    )


def forget_process(world: World, name: str, pid: int) -> None:
    """Drop the record of ``pid`` in sandbox ``name``, if any is left."""
    sandbox = world.sandboxes.get(name)
    if sandbox is not None:
        sandbox.processes.pop(str(pid), None)


def prune_processes(world: World) -> None:
    """Drop every record whose process has ended."""
    for sandbox in world.sandboxes.values():
        for key, process in list(sandbox.processes.items()):
            if not is_alive(process):
                del sandbox.processes[key]


def kill_processes(sandbox: Sandbox) -> None:
    """Kill every live process of ``sandbox``, as stopping its VM does."""
    for process in sandbox.processes.values():
        if is_alive(process):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(process.pid, signal.SIGKILL)
    sandbox.processes.clear()


def is_alive(process: Process) -> bool:
    """
    Tell whether the recorded process still runs.

    A zombie counts as ended; so does a reused pid whose environment
    lacks the run's marker.
    """
    proc = Path("/proc") / str(process.pid)
    try:
        stat = (proc / "stat").read_text()
    except OSError:
        return _signalable(process.pid) and not proc.parent.is_dir()
    if stat.rpartition(")")[2].split()[:1] == ["Z"]:
        return False
    if not process.marker:
        return True
    try:
        environ = (proc / "environ").read_bytes().split(b"\0")
    except OSError:
        return False

    return f"{_MARKER}={process.marker}".encode() in environ


def _signalable(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True

    return True
