from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sandwarden.domain.templates import (
    TagRotation,
    previous_tag,
    rollback,
    rotation,
)
from sandwarden.domain.values import ImageTag


def test_latest_is_kept_as_prev_before_a_save() -> None:
    latest = ImageTag("my-app-auth", "latest")

    move = rotation(latest)

    assert move == TagRotation(
        source=latest,
        target=ImageTag("my-app-auth", "prev"),
    )
    assert move.describe() == "tag my-app-auth:latest as my-app-auth:prev"


def test_another_tag_keeps_its_previous_image_under_a_prev_suffix() -> None:
    stable = ImageTag("registry.local:5000/team/auth", "stable")

    assert previous_tag(stable) == stable.with_tag("stable-prev")


def test_a_rollback_moves_prev_back_to_latest() -> None:
    latest = ImageTag("my-app-auth", "latest")

    move = rollback(latest)

    assert move.source == ImageTag("my-app-auth", "prev")
    assert move.target == latest


tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", fullmatch=True)


@given(tag=tags)
def test_the_previous_tag_is_always_a_valid_distinct_tag(tag: str) -> None:
    latest = ImageTag("repo", tag)

    prev = previous_tag(latest)

    assert ImageTag.parse(str(prev)).unwrap() == prev
    assert prev != latest
    assert prev.repository == latest.repository


@given(tag=tags)
def test_rotation_and_rollback_are_inverse_moves(tag: str) -> None:
    latest = ImageTag("repo", tag)

    forward, back = rotation(latest), rollback(latest)

    assert (forward.source, forward.target) == (back.target, back.source)
