"""
Template tag rotation: keep the previous template for a rollback.

Before a new template is saved over ``repo:latest``, the current image is
tagged ``repo:prev``; a bad save is undone by tagging ``prev`` back as
``latest``. Both are ``image tag`` moves, described here as values.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandwarden.domain.values import ImageTag

__all__ = ["TagRotation", "previous_tag", "rollback", "rotation"]

# Docker's limit on a tag's length.
_TAG_MAX = 128
_SUFFIX = "-prev"


@dataclass(frozen=True, slots=True)
class TagRotation:
    """Point ``target`` at the image ``source`` names."""

    source: ImageTag
    target: ImageTag

    def describe(self) -> str:
        """The move as a human reads it."""
        return f"tag {self.source} as {self.target}"


def previous_tag(latest: ImageTag) -> ImageTag:
    """
    The tag that keeps the template before ``latest`` is saved over.

    ``x:latest`` keeps ``x:prev``; any other tag ``t`` keeps ``t-prev``,
    with ``t`` shortened if needed to stay within Docker's 128 characters.
    """
    if latest.tag == "latest":
        return latest.with_tag("prev")

    return latest.with_tag(latest.tag[: _TAG_MAX - len(_SUFFIX)] + _SUFFIX)


def rotation(latest: ImageTag) -> TagRotation:
    """The move to make before saving a new template as ``latest``."""
    return TagRotation(source=latest, target=previous_tag(latest))


def rollback(latest: ImageTag) -> TagRotation:
    """The move that restores the previous template as ``latest``."""
    return TagRotation(source=previous_tag(latest), target=latest)
