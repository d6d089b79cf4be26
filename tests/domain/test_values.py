from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.values import (
    ImageTag,
    SandboxName,
    SessionId,
    Workspace,
)

# -- Workspace -----------------------------------------------------------

segments = st.sampled_from(["", ".", "..", "srv", "bot ws", "a.b", "x-1"])
absolute_paths = st.builds(
    lambda slashes, parts: "/" * slashes + "/".join(parts),
    st.integers(1, 3),
    st.lists(segments, max_size=6),
)


@given(absolute_paths)
def test_workspace_normalisation_is_idempotent(raw: str) -> None:
    workspace = Workspace.parse(raw).unwrap()

    again = Workspace.parse(str(workspace)).unwrap()

    assert again == workspace


@given(absolute_paths)
def test_a_normalised_workspace_has_no_redundant_parts(raw: str) -> None:
    path = Workspace.parse(raw).unwrap().path

    assert path.startswith("/")
    assert "//" not in path
    assert "/./" not in path + "/"
    assert "/../" not in path + "/"
    assert path == "/" or not path.endswith("/")


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("/srv/bot", "/srv/bot"),
        ("/srv/bot/", "/srv/bot"),
        ("//srv//bot", "/srv/bot"),
        ("/srv/./bot/../bot", "/srv/bot"),
        ("/..", "/"),
        ("/srv/with space", "/srv/with space"),
    ],
)
def test_workspace_examples_normalise(raw: str, normal: str) -> None:
    assert Workspace.parse(raw).unwrap().path == normal


@given(
    st.text(
        alphabet=st.characters(exclude_characters="\x00"),
        min_size=1,
    ).filter(lambda text: not text.startswith("/")),
)
def test_a_relative_workspace_is_refused(raw: str) -> None:
    error = Workspace.parse(raw).failure()

    assert error.kind is ErrorKind.INVALID_INPUT
    assert "absolute" in error.message


@pytest.mark.parametrize("raw", ["", "/srv/\x00bot", "srv/bot", "./bot"])
def test_unusable_workspaces_are_refused_by_name(raw: str) -> None:
    error = Workspace.parse(raw).failure()

    assert error.kind is ErrorKind.INVALID_INPUT
    assert "workspace" in error.message


@given(absolute_paths, st.sampled_from(["", ":ro", ":readonly"]))
def test_a_workspace_matches_any_listing_of_itself(
    raw: str,
    suffix: str,
) -> None:
    workspace = Workspace.parse(raw).unwrap()

    assert workspace.matches(raw + suffix)
    assert workspace.matches(str(workspace) + suffix)


def test_a_workspace_matches_its_resolved_form() -> None:
    workspace = Workspace.parse("/Users/bob/project").unwrap()

    assert workspace.matches(
        "/private/Users/bob/project", "/private/Users/bob/project/"
    )
    assert not workspace.matches("/private/Users/bob/project")


@pytest.mark.parametrize(
    "listed",
    ["/srv/other", "/srv/bot/sub", "srv/bot", "-", "", "/srv/bo"],
)
def test_a_workspace_does_not_match_another_path(listed: str) -> None:
    workspace = Workspace.parse("/srv/bot").unwrap()

    assert not workspace.matches(listed)


@given(absolute_paths, absolute_paths)
def test_two_workspaces_match_exactly_when_they_are_equal(
    first: str,
    second: str,
) -> None:
    one = Workspace.parse(first).unwrap()
    other = Workspace.parse(second).unwrap()

    assert one.matches(second) is (one == other)


# -- SandboxName --------------------------------------------------------

NAME_CHARACTERS = string.ascii_letters + string.digits + "-_.+"
NAME_ALPHABET = NAME_CHARACTERS + " /:@é\n\t'"


def documented_name(raw: str) -> bool:
    """The plugin's rule, restated: 1 to 63 of its characters, alnum first."""
    return (
        1 <= len(raw) <= 63
        and raw[0] in string.ascii_letters + string.digits
        and all(character in NAME_CHARACTERS for character in raw)
    )


@given(st.text(alphabet=NAME_ALPHABET, max_size=70))
def test_a_sandbox_name_is_accepted_exactly_when_documented(raw: str) -> None:
    result = SandboxName.parse(raw)

    assert is_successful(result) is documented_name(raw)


@given(st.text(max_size=80))
def test_any_text_is_judged_by_the_documented_rule(raw: str) -> None:
    result = SandboxName.parse(raw)

    assert is_successful(result) is documented_name(raw)
    if not is_successful(result):
        assert result.failure().kind is ErrorKind.INVALID_INPUT


@pytest.mark.parametrize(
    ("raw", "accepted"),
    [
        ("a", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("", False),
        ("my-sandbox_1.2+x", True),
        ("-leading", False),
        (".hidden", False),
        ("with space", False),
        ("ünïcode", False),
    ],
)
def test_sandbox_name_bounds(raw: str, accepted: bool) -> None:
    assert is_successful(SandboxName.parse(raw)) is accepted


def test_a_refused_name_says_what_was_expected() -> None:
    error = SandboxName.parse("a" * 64).failure()

    assert "64" in error.message
    assert "63" in error.message


@given(st.text(alphabet=NAME_CHARACTERS, min_size=1, max_size=63))
def test_a_heal_name_is_always_a_valid_name(raw: str) -> None:
    name = SandboxName.parse(raw)
    if not is_successful(name):
        return

    heal = name.unwrap().heal()

    assert is_successful(SandboxName.parse(str(heal)))
    assert str(heal).endswith("-heal")
    assert heal.heal() == heal


# -- ImageTag -----------------------------------------------------------

components = st.from_regex(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*", fullmatch=True
)
registries = st.sampled_from(["", "localhost:5000/", "registry.example.io/"])
repositories = st.builds(
    lambda registry, parts: registry + "/".join(parts),
    registries,
    st.lists(components, min_size=1, max_size=3),
).filter(lambda repository: len(repository) <= 255)
tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", fullmatch=True)


@given(repositories, tags)
def test_an_image_tag_round_trips_through_str(
    repository: str,
    tag: str,
) -> None:
    image = ImageTag.parse(f"{repository}:{tag}").unwrap()

    assert (image.repository, image.tag) == (repository, tag)
    assert ImageTag.parse(str(image)).unwrap() == image


@given(repositories)
def test_an_image_without_a_tag_is_latest(repository: str) -> None:
    image = ImageTag.parse(repository).unwrap()

    assert image.tag == "latest"
    assert str(image) == f"{repository}:latest"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "Upper/Case:v1",
        "name:",
        "name:-dash",
        "name:" + "t" * 129,
        "a" * 256,
        "name@sha256:abc",
        "with space:v1",
    ],
)
def test_malformed_images_are_refused(raw: str) -> None:
    error = ImageTag.parse(raw).failure()

    assert error.kind is ErrorKind.INVALID_INPUT
    assert "image" in error.message


@given(st.text(max_size=60))
def test_image_parsing_never_raises(raw: str) -> None:
    result = ImageTag.parse(raw)

    if is_successful(result):
        assert ImageTag.parse(str(result.unwrap())) == result


def test_with_tag_keeps_the_repository() -> None:
    image = ImageTag.parse("sandwarden-auth:latest").unwrap()

    assert str(image.with_tag("prev")) == "sandwarden-auth:prev"


# -- SessionId ----------------------------------------------------------


@given(st.uuids())
def test_a_uuid_is_a_session_id(uuid: object) -> None:
    session = SessionId.parse(str(uuid)).unwrap()

    assert str(session) == str(uuid)


@given(st.text(max_size=40))
def test_a_session_id_never_starts_with_a_dash(rest: str) -> None:
    error = SessionId.parse("-" + rest).failure()

    assert error.kind is ErrorKind.INVALID_INPUT


@given(st.text(max_size=140))
def test_an_accepted_session_id_is_safe_on_a_command_line(raw: str) -> None:
    result = SessionId.parse(raw)

    if is_successful(result):
        assert 1 <= len(raw) <= 128
        assert raw[0].isascii() and raw[0].isalnum()
        assert not any(character.isspace() for character in raw)


@pytest.mark.parametrize("raw", ["", "a" * 129, "a b", "a;rm -rf /", "--help"])
def test_unusable_session_ids_are_refused(raw: str) -> None:
    assert not is_successful(SessionId.parse(raw))
