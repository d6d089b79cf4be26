"""
Template images as tar files: what `docker image save` would write.

The tar holds a ``manifest.json`` in Docker's shape (``RepoTags``) and
the image's own state as ``sandwarden-image.json``. Member times and
owners are fixed, so one image always gives the same bytes (and the
same sha256), in the simulator and in the fake executables alike.
"""

from __future__ import annotations

import io
import json
import tarfile

from returns.result import Failure, Result, Success

from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.simulator.codec import from_plain, to_plain
from sandwarden.simulator.world import Image, World

__all__ = ["export_tar", "load_tar"]

_STATE = "sandwarden-image.json"


def export_tar(world: World, tag: str) -> bytes | None:
    """The tar of the image ``tag`` names, or None if there is none."""
    image_id = world.tags.get(tag)
    if image_id is None or image_id not in world.images:
        return None
    image = world.images[image_id]
    manifest = [{"Config": f"{image_id}.json", "RepoTags": [tag]}]
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT
    ) as tar:
        _add(tar, "manifest.json", json.dumps(manifest).encode())
        _add(tar, _STATE, json.dumps(to_plain(image), sort_keys=True).encode())

    return buffer.getvalue()


def load_tar(
    world: World, data: bytes
) -> Result[tuple[str, ...], WardenError]:
    """Put the image of a tar into the store; return the tags it carried."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            manifest = json.loads(_read(tar, "manifest.json"))
            image = from_plain(Image, json.loads(_read(tar, _STATE)))
        tags = [str(tag) for entry in manifest for tag in entry["RepoTags"]]
    except (tarfile.TarError, ValueError, TypeError, KeyError) as error:
        return Failure(
            WardenError(
                ErrorKind.INVALID_INPUT,
                f"the tar file is not an image this store can load ({error})",
            ),
        )
    world.images[image.id] = image
    for tag in tags:
        world.tags[tag] = image.id

    return Success(tuple(tags))


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _read(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.extractfile(name)
    if member is None:
        msg = f"{name} is not a file"
        raise KeyError(msg)

    return member.read()
