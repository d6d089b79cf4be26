"""The parsers of `docker sandbox` and `sbx` output, over every shape."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.pipeline import is_successful

from sandwarden.adapters.tool_output import (
    StoredCredential,
    find_sandbox,
    parse_loaded_images,
    parse_plugin_version,
    parse_sandbox_list,
    parse_sbx_version,
    parse_secrets,
    parse_templates,
)
from sandwarden.domain.errors import ErrorKind
from sandwarden.domain.sandbox import SandboxInfo, SandboxStatus
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

RUNNING = SandboxStatus.RUNNING
STOPPED = SandboxStatus.STOPPED

G2_TABLE = """\
SANDBOX   AGENT    STATUS    WORKSPACE
sb1       claude   running   /Users/bob/src/project-a
sb2       claude   running   /Users/bob/src/project-a, /Users/bob/src/b
sb3       cagent   stopped   -
"""
G1_TABLE = """\
VM ID   NAME        STATUS    WORKSPACE     SOCKET PATH     SANDBOXES   AGENTS
a1b2    claude-vm   running   /home/u/p     /tmp/d.sock     2           claude
"""
G0_TABLE = """\
SANDBOX ID     TEMPLATE                               NAME        WORKSPACE      STATUS    CREATED
275d94b417bf   docker/sandbox-templates:claude-code   claude-sb   /Users/a b/p   running   2026-01-10 19:12:10
"""  # noqa: E501
SBX_TABLE = """\
SANDBOX         AGENT   STATUS   PORTS                      WORKSPACE
my-sandbox      claude  running  127.0.0.1:8080->3000/tcp4  /home/user/proj
other           shell   stopped                             /home/user/x:ro
"""
SBX_EMPTY = "No sandboxes found.\nLaunch one: sbx run claude\n"
SBX_BANNER = (
    "Starting sandboxd daemon...\n"
    "Daemon started (PID: 55276, socket: /tmp/s.sock)\n"
    "Logs: /tmp/daemon.log\n"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            G2_TABLE,
            (
                SandboxInfo(
                    "sb1", "claude", RUNNING, ("/Users/bob/src/project-a",)
                ),
                SandboxInfo(
                    "sb2",
                    "claude",
                    RUNNING,
                    ("/Users/bob/src/project-a", "/Users/bob/src/b"),
                ),
                SandboxInfo("sb3", "cagent", STOPPED, ()),
            ),
        ),
        (
            G1_TABLE,
            (SandboxInfo("claude-vm", "claude", RUNNING, ("/home/u/p",)),),
        ),
        (
            G0_TABLE,
            (SandboxInfo("claude-sb", "claude", RUNNING, ("/Users/a b/p",)),),
        ),
        (
            SBX_TABLE,
            (
                SandboxInfo(
                    "my-sandbox", "claude", RUNNING, ("/home/user/proj",)
                ),
                SandboxInfo("other", "shell", STOPPED, ("/home/user/x:ro",)),
            ),
        ),
        (SBX_EMPTY, ()),
        ("SANDBOX   AGENT   STATUS   WORKSPACE\n", ()),
        ("", ()),
        (
            '{"vms":[{"name":"claude-vm","agent":"claude","status":"running",'
            '"socket_path":"/s.sock","sandbox_count":2,'
            '"workspaces":["/home/user/a","/home/user/b:ro"]},'
            '{"name":"gemini-vm","agent":"gemini","status":"stopped",'
            '"sandbox_count":0}]}',
            (
                SandboxInfo(
                    "claude-vm",
                    "claude",
                    RUNNING,
                    ("/home/user/a", "/home/user/b:ro"),
                ),
                SandboxInfo("gemini-vm", "gemini", STOPPED, ()),
            ),
        ),
        (
            '{"sandboxes": [{"name": "x", "status": "running"}]}',
            (SandboxInfo("x", "", RUNNING, ()),),
        ),
        (
            SBX_BANNER
            + json.dumps(
                {
                    "sandboxes": [
                        {
                            "name": "copilot-test",
                            "agent": "copilot",
                            "status": "stopped",
                            "workspaces": ["/w/copilot-test"],
                        },
                    ],
                },
                indent=2,
            ),
            (
                SandboxInfo(
                    "copilot-test", "copilot", STOPPED, ("/w/copilot-test",)
                ),
            ),
        ),
        ('{"sandboxes": null}', ()),
        ('{"sandboxes": []}', ()),
    ],
    ids=[
        "g2-table",
        "g1-table",
        "g0-table",
        "sbx-table",
        "sbx-empty",
        "header-only",
        "nothing",
        "json-vms",
        "json-sandboxes-minimal",
        "json-after-banner",
        "json-null",
        "json-empty",
    ],
)
def test_every_known_ls_shape_is_read(
    text: str, expected: tuple[SandboxInfo, ...]
) -> None:
    result = parse_sandbox_list(text)

    assert result.unwrap() == expected


def test_unreadable_ls_output_is_a_failure_with_the_evidence() -> None:
    result = parse_sandbox_list("segmentation fault\n")

    assert not is_successful(result)
    assert result.failure().kind is ErrorKind.UNKNOWN
    assert "segmentation fault" in result.failure().detail


def test_json_entries_without_a_name_are_refused() -> None:
    result = parse_sandbox_list('{"sandboxes": [{"status": "running"}]}')

    assert not is_successful(result)


_SEGMENT = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_ ", min_size=1
).filter(lambda s: s.strip() == s and "  " not in s)
_PATH = st.lists(_SEGMENT, min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)
_NAME = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,20}", fullmatch=True)


@given(
    rows=st.lists(
        st.tuples(
            _NAME,
            st.sampled_from(["claude", "shell"]),
            st.sampled_from(["running", "stopped"]),
            st.lists(_PATH, max_size=3),
        ),
        max_size=6,
        unique_by=lambda row: row[0],
    ),
)
def test_a_tabwriter_table_round_trips(
    rows: list[tuple[str, str, str, list[str]]],
) -> None:
    cells = [
        [name, agent, status, ", ".join(paths) or "-"]
        for name, agent, status, paths in rows
    ]
    header = ["SANDBOX", "AGENT", "STATUS", "WORKSPACE"]
    widths = [
        max(len(row[i]) for row in [header, *cells]) + 3 for i in range(4)
    ]
    text = "".join(
        "".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        + "\n"
        for row in [header, *cells]
    )

    result = parse_sandbox_list(text)

    assert result.unwrap() == tuple(
        SandboxInfo(name, agent, SandboxStatus(status), tuple(paths))
        for name, agent, status, paths in rows
    )


@given(
    key=st.sampled_from(["vms", "sandboxes"]),
    entries=st.lists(
        st.fixed_dictionaries(
            {"name": _NAME, "status": st.sampled_from(["running", "x"])},
            optional={"workspaces": st.lists(_PATH, max_size=3)},
        ),
        max_size=5,
    ),
    banner=st.sampled_from(["", SBX_BANNER]),
)
def test_json_listing_is_read_under_either_key(
    key: str, entries: list[dict[str, object]], banner: str
) -> None:
    text = banner + json.dumps({key: entries})

    result = parse_sandbox_list(text)

    infos = result.unwrap()
    assert [info.name for info in infos] == [e["name"] for e in entries]
    assert [list(info.workspaces) for info in infos] == [
        e.get("workspaces", []) for e in entries
    ]


@given(text=st.text(max_size=300))
def test_no_input_makes_the_ls_parser_raise(text: str) -> None:
    parse_sandbox_list(text)


def _listing() -> tuple[SandboxInfo, ...]:
    return (
        SandboxInfo("a", "claude", RUNNING, ("/w/a", "/w/extra:ro")),
        SandboxInfo("b", "claude", STOPPED, ()),
    )


def test_a_sandbox_over_the_configured_workspace_is_found() -> None:
    found = find_sandbox(
        _listing(), SandboxName("a"), Workspace.parse("/w/a/").unwrap()
    )

    assert found.unwrap() == _listing()[0]


def test_a_sandbox_over_another_workspace_names_both_paths() -> None:
    found = find_sandbox(
        _listing(), SandboxName("a"), Workspace.parse("/w/other").unwrap()
    )

    error = found.failure()
    assert error.kind is ErrorKind.WORKSPACE_MISMATCH
    assert "/w/a" in error.message
    assert "/w/other" in error.message


@pytest.mark.parametrize("suffix", [":ro", ":readonly"])
def test_a_read_only_suffix_is_kept_in_the_listing_and_ignored_in_matching(
    suffix: str,
) -> None:
    text = json.dumps(
        {"sandboxes": [{"name": "a", "workspaces": [f"/w/a{suffix}"]}]}
    )

    listing = parse_sandbox_list(text).unwrap()
    found = find_sandbox(
        listing, SandboxName("a"), Workspace.parse("/w/a").unwrap()
    )

    assert listing[0].workspaces == (f"/w/a{suffix}",)
    assert found.unwrap() == listing[0]


def test_a_symlink_free_listing_matches_the_resolved_workspace() -> None:
    listing = (SandboxInfo("a", "claude", RUNNING, ("/private/w",)),)

    found = find_sandbox(
        listing,
        SandboxName("a"),
        Workspace.parse("/w").unwrap(),
        resolved="/private/w",
    )

    assert is_successful(found)


def test_a_sandbox_listed_without_workspace_is_accepted() -> None:
    found = find_sandbox(
        _listing(), SandboxName("b"), Workspace.parse("/w/b").unwrap()
    )

    assert found.unwrap() == _listing()[1]


def test_a_missing_sandbox_is_none() -> None:
    found = find_sandbox(
        _listing(), SandboxName("zz"), Workspace.parse("/w").unwrap()
    )

    assert found.unwrap() is None


@pytest.mark.parametrize(
    ("text", "version"),
    [
        (
            "github.com/docker/sandboxes/cli-plugin v0.7.1 "
            "f00f0d6473647c2201cd0507ce31613345c48ae6\n",
            "v0.7.1",
        ),
        ("github.com/docker/sandboxes/cli-plugin v0.12.0 abc\n", "v0.12.0"),
    ],
)
def test_the_plugin_version_line_is_read(text: str, version: str) -> None:
    assert parse_plugin_version(text).unwrap() == version


def test_a_plugin_version_without_a_number_is_a_failure() -> None:
    assert not is_successful(parse_plugin_version("docker: unknown\n"))


@pytest.mark.parametrize(
    ("text", "version"),
    [
        (
            "Client Version:  v0.31.3 abc\nServer Version:  v0.31.3 abc\n",
            "v0.31.3",
        ),
        ("sbx version: v0.42.0-rc2 777613ce\n", "v0.42.0-rc2"),
        (SBX_BANNER + "sbx version: v0.43.0 1234\n", "v0.43.0"),
        ('{"version": "v0.45.1"}', "v0.45.1"),
    ],
    ids=["old-text", "new-text", "after-banner", "json"],
)
def test_both_sbx_version_formats_are_read(text: str, version: str) -> None:
    assert parse_sbx_version(text).unwrap() == version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"secrets": [{"scope": "(global)", "type": "service", '
            '"name": "anthropic", "secret": "sk-a****"}]}',
            StoredCredential("anthropic", True),
        ),
        (
            '{"secrets": [{"unknown": "shape"}]}',
            StoredCredential("anthropic", True),
        ),
        ('{"secrets": []}', StoredCredential("anthropic", False)),
        ('{"secrets": null}', StoredCredential("anthropic", False)),
        (
            "SCOPE      TYPE      NAME        SECRET\n"
            "(global)   service   github      gho_GCaw4o****...****43qy\n",
            StoredCredential("anthropic", False),
        ),
        (
            "SCOPE      TYPE      NAME        SECRET\n"
            "(global)   service   anthropic   (oauth configured)\n",
            StoredCredential("anthropic", True, True, ("(global)",)),
        ),
        (
            "(global) anthropic (oauth configured)\n",
            StoredCredential("anthropic", True, True, ("(global)",)),
        ),
    ],
    ids=[
        "json",
        "json-any-entry",
        "json-empty",
        "json-null",
        "table-other",
        "table-oauth",
        "bare-line",
    ],
)
def test_the_stored_claude_credential_is_read(
    text: str, expected: StoredCredential
) -> None:
    assert parse_secrets(text).unwrap() == expected


@pytest.mark.parametrize(
    "text",
    ['{"error": "no"}', '{"secrets": "anthropic"}'],
    ids=["no-secrets-key", "not-a-list"],
)
def test_json_without_a_secrets_list_is_unreadable(text: str) -> None:
    read = parse_secrets(text)

    assert read.failure().kind is ErrorKind.UNKNOWN
    assert "'secrets' list" in read.failure().message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "REPOSITORY                           TAG      IMAGE ID       "
            "FLAVOR                CREATED\n"
            "docker.io/library/docker-agent-sbx   v1.0.0   0822a87bd91b   "
            "docker-agent-docker   Less than a minute ago\n",
            (ImageTag("docker.io/library/docker-agent-sbx", "v1.0.0"),),
        ),
        ("No template images found\n", ()),
        (
            '{"templates": [{"repository": "auth", "tag": "latest"}]}',
            (ImageTag("auth", "latest"),),
        ),
    ],
    ids=["table", "empty", "json"],
)
def test_template_listings_are_read(
    text: str, expected: tuple[ImageTag, ...]
) -> None:
    assert parse_templates(text).unwrap() == expected


def test_loaded_image_lines_name_the_tags() -> None:
    text = (
        "Loaded image: sandwarden-auth:latest\n"
        "Loaded image ID: sha256:abc\n"
        "Loaded image: other:v2\n"
    )

    assert parse_loaded_images(text) == (
        ImageTag("sandwarden-auth", "latest"),
        ImageTag("other", "v2"),
    )
