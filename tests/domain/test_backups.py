from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.domain.backups import (
    Manifest,
    backup_name,
    latest_link_name,
    manifest_name,
    parse_backup_name,
    rotation_plan,
    temporary_name,
)
from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.values import ImageTag

AUTH = ImageTag("my-app-auth", "latest")
# 2026-01-02T03:04:05Z
AT = 1_767_323_045.0
DIGEST = "a" * 64


def test_a_backup_is_named_as_the_specification_does() -> None:
    assert backup_name(AUTH, AT) == "my-app-auth__latest_20260102T030405Z.tar"
    assert latest_link_name(AUTH) == "my-app-auth__latest_latest.tar"


def test_fractions_of_a_second_are_dropped() -> None:
    assert backup_name(AUTH, AT + 0.999) == backup_name(AUTH, AT)


def test_slashes_and_ports_in_the_repository_are_made_file_safe() -> None:
    template = ImageTag("registry.local:5000/team/auth", "v2")

    name = backup_name(template, AT)

    assert "/" not in name
    assert name == (
        "registry.local%3A5000%2Fteam%2Fauth__v2_20260102T030405Z.tar"
    )
    assert parse_backup_name(name).unwrap().template == template


def test_a_double_underscore_in_the_repository_stays_unambiguous() -> None:
    one = ImageTag("a__b", "c")
    other = ImageTag("a", "b__c")

    names = {backup_name(one, AT), backup_name(other, AT)}

    assert len(names) == 2
    for name, template in zip(
        (backup_name(one, AT), backup_name(other, AT)),
        (one, other),
        strict=True,
    ):
        assert parse_backup_name(name).unwrap().template == template


def test_a_backup_name_reads_back_its_template_and_time() -> None:
    parsed = parse_backup_name("my-app-auth__latest_20260102T030405Z.tar")

    backup = parsed.unwrap()
    assert backup.template == AUTH
    assert backup.created_at == AT


@pytest.mark.parametrize(
    "name",
    [
        "my-app-auth__latest_latest.tar",
        manifest_name(backup_name(AUTH, AT)),
        temporary_name(backup_name(AUTH, AT)),
        "my-app-auth__latest_20261302T030405Z.tar",
        "my-app-auth_latest_20260102T030405Z.tar",
        "My-App__latest_20260102T030405Z.tar",
        "my-app-auth__latest_20260102T030405Z.tar.gz",
        "notes.txt",
        "",
    ],
)
def test_other_files_are_not_backups(name: str) -> None:
    result = parse_backup_name(name)

    assert not is_successful(result)
    assert result.failure().kind is ErrorKind.INVALID_INPUT


def test_a_non_canonical_spelling_is_not_taken_for_a_backup() -> None:
    result = parse_backup_name("host:5000%2Fapp__v1_20260102T030405Z.tar")

    assert not is_successful(result)
    assert "expected 'host%3A5000%2Fapp__v1_" in result.failure().message


def test_rotation_keeps_the_newest_and_deletes_older_with_manifests() -> None:
    names = [backup_name(AUTH, AT + day * 86400) for day in range(4)]
    listing = [
        *names,
        manifest_name(names[0]),
        manifest_name(names[3]),
        latest_link_name(AUTH),
        temporary_name(backup_name(AUTH, AT + 5 * 86400)),
    ]

    plan = rotation_plan(listing, keep=2)

    assert plan.keep == (names[2], names[3])
    assert plan.delete == (names[1], names[0], manifest_name(names[0]))
    assert set(plan.ignored) == {
        manifest_name(names[3]),
        latest_link_name(AUTH),
        temporary_name(backup_name(AUTH, AT + 5 * 86400)),
    }


def test_rotation_never_deletes_the_newest_even_with_keep_zero() -> None:
    names = [backup_name(AUTH, AT + hour * 3600) for hour in range(3)]

    plan = rotation_plan(names, keep=0)

    assert plan.keep == (names[2],)


def test_the_newest_verified_backup_is_kept_too() -> None:
    names = [backup_name(AUTH, AT + hour * 3600) for hour in range(4)]

    plan = rotation_plan(names, keep=1, verified={names[1]})

    assert plan.keep == (names[1], names[3])


templates = st.builds(
    ImageTag,
    repository=st.from_regex(
        r"(?:[a-z0-9.-]+(?::[0-9]{1,5})?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
        r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)?",
        fullmatch=True,
    ).filter(lambda r: is_successful(ImageTag.parse(f"{r}:x"))),
    tag=st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True),
)
instants = st.integers(0, 4_000_000_000)


@given(template=templates, at=instants)
def test_every_backup_name_reads_back_exactly(
    template: ImageTag,
    at: int,
) -> None:
    name = backup_name(template, at)

    backup = parse_backup_name(name).unwrap()

    assert (backup.template, backup.created_at, backup.file) == (
        template,
        float(at),
        name,
    )
    assert not is_successful(parse_backup_name(latest_link_name(template)))
    assert not is_successful(parse_backup_name(manifest_name(name)))
    assert not is_successful(parse_backup_name(temporary_name(name)))


@given(
    backups=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c/d"]), instants),
        max_size=30,
    ),
    foreign=st.lists(st.text(max_size=20), max_size=5),
    keep=st.integers(-1, 6),
)
def test_rotation_keeps_min_n_per_template_and_never_the_newest(
    backups: list[tuple[str, int]],
    foreign: list[str],
    keep: int,
) -> None:
    names = sorted({backup_name(ImageTag(r), at) for r, at in backups})
    strangers = [f for f in foreign if f not in names]

    plan = rotation_plan([*names, *strangers], keep)

    assert set(plan.keep) | set(plan.delete) == set(names)
    assert not set(plan.keep) & set(plan.delete)
    assert not set(plan.delete) & set(strangers)
    per_template = Counter(
        parse_backup_name(n).unwrap().template for n in names
    )
    kept = Counter(parse_backup_name(n).unwrap().template for n in plan.keep)
    for template, count in per_template.items():
        assert kept[template] == min(max(1, keep), count)
        newest = max(
            (parse_backup_name(n).unwrap() for n in names),
            key=lambda b: (b.template == template, b.created_at),
        )
        assert newest.file in plan.keep


def manifest() -> Manifest:
    return Manifest(
        file=backup_name(AUTH, AT),
        template=AUTH,
        created_at=AT,
        size=1024,
        sha256=DIGEST,
        tool="docker sandbox v0.12.0",
    )


def test_a_manifest_round_trips() -> None:
    assert Manifest.from_json(manifest().to_json()).unwrap() == manifest()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ('"version": 1', '"version": 2'),
        ('"size": 1024', '"size": -1'),
        ('"sha256": "' + DIGEST, '"sha256": "' + "Z" * 64),
        ('"template": "my-app-auth:latest"', '"template": "Bad Image"'),
        ('"tool": "docker sandbox v0.12.0"', '"tool": 7'),
    ],
)
def test_a_damaged_manifest_is_refused(change: str, named: str) -> None:
    text = manifest().to_json()
    assert change in text

    result = Manifest.from_json(text.replace(change, named))

    assert not is_successful(result)
    assert "Manifest.to_json" in result.failure().message


def test_verify_accepts_the_recorded_size_and_digest() -> None:
    assert is_successful(manifest().verify(1024, DIGEST.upper()))


def test_verify_names_a_size_or_digest_mismatch() -> None:
    short = manifest().verify(1000, DIGEST)
    other = manifest().verify(1024, "b" * 64)

    assert short.failure().kind is ErrorKind.STORAGE
    assert "1000 bytes" in short.failure().message
    assert "SHA-256" in other.failure().message
    assert "b" * 64 in other.failure().detail
