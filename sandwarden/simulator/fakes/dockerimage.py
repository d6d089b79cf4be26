"""
The fake ``docker`` image store commands, ``info`` and ``version``.

``image inspect/tag/save/load/ls/rm`` and ``tag``; ``ls --format`` fills
in ``{{.Repository}}``, ``{{.Tag}}`` and ``{{.ID}}`` only.

All of them need Docker Desktop's engine: with the world's
``image_store_up`` (or ``daemon_up``) off they fail with the engine's
"Cannot connect" text, exit 1.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from sandwarden.simulator.fakes.common import ToolError, out
from sandwarden.simulator.fakes.flags import (
    Flag,
    FlagError,
    Parsed,
    parse_flags,
)
from sandwarden.simulator.fakes.sandboxes import (
    ImageFileError,
    read_image_file,
    write_image_file,
)
from sandwarden.simulator.fakes.state import FakeState, StateFile
from sandwarden.simulator.fakes.tables import render_table
from sandwarden.simulator.world import Image

__all__ = ["image_command", "info_command", "tag_command", "version_command"]

CANNOT_CONNECT = (
    "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
    "Is the docker daemon running?"
)
_ENGINE = "27.5.1"
_CLIENT = (
    "Client:\n"
    f" Version:           {_ENGINE}\n"
    " API version:       1.47\n"
    " Go version:        go1.22.11\n"
    " OS/Arch:           linux/amd64\n"
    " Context:           desktop-linux\n"
)


def _engine_up(state: FakeState) -> bool:
    return state.world.daemon_up and state.world.image_store_up


def _parse(words: list[str], flags: list[Flag], usage: str) -> Parsed:
    try:
        parsed = parse_flags(words, flags)
    except FlagError as error:
        command = usage.split(" [", maxsplit=1)[0]
        msg = (
            f"{error}\n\nUsage:  docker {usage}\n\n"
            f"Run 'docker {command} --help' for more information"
        )
        raise ToolError(msg, 125) from error

    return parsed


def image_command(state_file: StateFile, words: list[str]) -> int:
    """Run ``docker image WORDS``."""
    if not words:
        out("Usage:  docker image COMMAND\n")
        return 0
    command, rest = words[0], words[1:]
    handlers = {
        "inspect": _inspect,
        "tag": tag_command,
        "save": _save,
        "load": _load,
        "ls": _ls,
        "list": _ls,
        "rm": _rm,
        "remove": _rm,
    }
    handler = handlers.get(command)
    if handler is None:
        msg = (
            f"docker: unknown command: docker image {command}\n\n"
            "Run 'docker image --help' for more information"
        )
        raise ToolError(msg, 1)

    return handler(state_file, rest)


def _inspect(state_file: StateFile, words: list[str]) -> int:
    names = _parse(
        words,
        [Flag("format", "f", takes_value=True)],
        "image inspect [OPTIONS] IMAGE [IMAGE...]",
    ).args
    state = state_file.read()
    if not _engine_up(state):
        raise ToolError(CANNOT_CONNECT, 1)
    found = []
    missing = []
    for name in names:
        image = _find(state, name)
        if image is None:
            missing.append(name)
        else:
            found.append(_describe(state, image))
    out(json.dumps(found, indent=4) + "\n")
    if missing:
        text = "\n".join(f"Error: No such image: {name}" for name in missing)
        raise ToolError(text, 1)

    return 0


def _ls(state_file: StateFile, words: list[str]) -> int:
    """
    `image ls [-q] [--format TEMPLATE]`, one line per tag.

    The template's ``{{.Repository}}``, ``{{.Tag}}`` and ``{{.ID}}`` are
    filled in; Go's other template syntax is not.
    """
    parsed = _parse(
        words,
        [Flag("format", takes_value=True), Flag("quiet", "q")],
        "image ls [OPTIONS] [REPOSITORY[:TAG]]",
    )
    state = state_file.read()
    if not _engine_up(state):
        raise ToolError(CANNOT_CONNECT, 1)
    rows = []
    for tag, image_id in sorted(state.world.tags.items()):
        repository, _, version = tag.rpartition(":")
        rows.append((repository, version, image_id.removeprefix("sha256:")))
    template = parsed.get("format")
    if parsed.has("quiet"):
        out("".join(f"{short[:12]}\n" for _, _, short in rows))
    elif template is not None:
        for repository, version, short in rows:
            line = (
                template.replace("{{.Repository}}", repository)
                .replace("{{.Tag}}", version)
                .replace("{{.ID}}", short[:12])
            )
            out(line.replace("\\t", "\t") + "\n")
    else:
        table = [["REPOSITORY", "TAG", "IMAGE ID"]]
        table += [[r, v, short[:12]] for r, v, short in rows]
        out(render_table(table, padding=3))

    return 0


def _rm(state_file: StateFile, words: list[str]) -> int:
    """`image rm [-f] IMAGE...`: untag each; an unknown one fails."""
    names = _parse(
        words,
        [Flag("force", "f"), Flag("no-prune")],
        "image rm [OPTIONS] IMAGE [IMAGE...]",
    ).args
    missing = []
    with state_file.transaction() as state:
        if not _engine_up(state):
            raise ToolError(CANNOT_CONNECT, 1)
        for name in names:
            tag = name if name in state.world.tags else name + ":latest"
            if state.world.tags.pop(tag, None) is None:
                missing.append(name)
            else:
                out(f"Untagged: {tag}\n")
    if missing:
        text = "\n".join(
            f"Error response from daemon: No such image: {name}"
            for name in missing
        )
        raise ToolError(text, 1)

    return 0


def _find(state: FakeState, name: str) -> Image | None:
    image_id = state.world.tags.get(name) or state.world.tags.get(
        name + ":latest",
    )
    if image_id is None and name.startswith("sha256:"):
        image_id = name
    return state.world.images.get(image_id) if image_id else None


def _describe(state: FakeState, image: Image) -> dict[str, object]:
    tags = sorted(t for t, i in state.world.tags.items() if i == image.id)
    created = time.strftime(
        "%Y-%m-%dT%H:%M:%SZ",
        time.gmtime(image.created_at),
    )

    return {
        "Id": image.id,
        "RepoTags": tags,
        "Created": created,
        "Config": {"Labels": {"com.docker.sandboxes.agent": image.agent}},
    }


def tag_command(state_file: StateFile, words: list[str]) -> int:
    """Run ``docker tag SOURCE TARGET`` (also ``docker image tag``)."""
    args = _parse(words, [], "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]").args
    if len(args) != 2:
        msg = (
            '"docker tag" requires exactly 2 arguments.\n'
            "See 'docker tag --help'."
        )
        raise ToolError(msg, 1)
    source, target = args
    with state_file.transaction() as state:
        if not _engine_up(state):
            raise ToolError(CANNOT_CONNECT, 1)
        image = _find(state, source)
        if image is None:
            raise ToolError(
                f"Error response from daemon: No such image: {source}"
            )
        state.world.tags[target] = image.id

    return 0


def _save(state_file: StateFile, words: list[str]) -> int:
    parsed = _parse(
        words,
        [Flag("output", "o", takes_value=True)],
        "image save [OPTIONS] IMAGE [IMAGE...]",
    )
    output = parsed.get("output")
    names = parsed.args
    state = state_file.read()
    if not _engine_up(state):
        raise ToolError(CANNOT_CONNECT, 1)
    if output is None:
        msg = "cowardly refusing to save to a terminal. Use the -o flag"
        raise ToolError(msg, 1)
    if len(names) != 1:
        raise ToolError("the fake saves exactly one image per file", 1)
    image = _find(state, names[0])
    if image is None:
        msg = "Error response from daemon: reference does not exist"
        raise ToolError(msg, 1)
    try:
        write_image_file(Path(output), [names[0]], image)
    except OSError as error:
        raise ToolError(f"failed to save image: {error}", 1) from error

    return 0


def _load(state_file: StateFile, words: list[str]) -> int:
    source = _parse(
        words,
        [Flag("input", "i", takes_value=True), Flag("quiet", "q")],
        "image load [OPTIONS]",
    ).get("input")
    if source is not None and not Path(source).exists():
        raise ToolError(f"open {source}: no such file or directory", 1)
    try:
        if source is not None:
            tags, image = read_image_file(Path(source))
        else:
            tags, image = _read_stdin()
    except ImageFileError as error:
        msg = f"Error response from daemon: unexpected EOF ({error})"
        raise ToolError(msg, 1) from error
    with state_file.transaction() as state:
        if not _engine_up(state):
            raise ToolError(CANNOT_CONNECT, 1)
        state.world.images[image.id] = image
        for tag in tags:
            state.world.tags[tag] = image.id
    out("".join(f"Loaded image: {tag}\n" for tag in tags))

    return 0


def _read_stdin() -> tuple[list[str], Image]:
    """The image of a tar piped to stdin, as `docker image load` reads it."""
    data = b"" if sys.stdin.isatty() else sys.stdin.buffer.read()
    if not data:
        raise ToolError("requested load from stdin, but stdin is empty", 1)
    with tempfile.TemporaryDirectory() as scratch:
        spooled = Path(scratch) / "stdin.tar"
        spooled.write_bytes(data)
        return read_image_file(spooled)


def info_command(state_file: StateFile, words: list[str]) -> int:
    """Run ``docker info``: client part, then the engine or an error."""
    _parse(words, [Flag("format", "f", takes_value=True)], "info [OPTIONS]")
    state = state_file.read()
    out(_CLIENT + "\n")
    if not _engine_up(state):
        raise ToolError(CANNOT_CONNECT, 1)
    images = len(state.world.images)
    out(
        "Server:\n Containers: 0\n"
        f" Images: {images}\n Server Version: {_ENGINE}\n"
        " Operating System: Docker Desktop\n",
    )

    return 0


def version_command(state_file: StateFile, words: list[str]) -> int:
    """Run ``docker version``: client part, then the server or an error."""
    _parse(
        words,
        [Flag("format", "f", takes_value=True)],
        "version [OPTIONS]",
    )
    state = state_file.read()
    out(_CLIENT)
    if not _engine_up(state):
        raise ToolError(CANNOT_CONNECT, 1)
    out(
        "\nServer: Docker Desktop\n Engine:\n"
        f"  Version:          {_ENGINE}\n  API version:      1.47\n",
    )

    return 0
