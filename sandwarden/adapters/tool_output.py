"""
Pure parsers of what `docker sandbox` and `sbx` print.

No I/O here: text in, values out. Every shape the references record is
accepted, because users run many versions of both tools:

- `ls` tables: plugin G2 ``SANDBOX AGENT STATUS WORKSPACE``, G1 ``VM ID
  NAME STATUS WORKSPACE SOCKET PATH SANDBOXES AGENTS``, G0 ``SANDBOX ID
  TEMPLATE NAME WORKSPACE STATUS CREATED``, sbx ``SANDBOX AGENT STATUS
  PORTS WORKSPACE``; `-` for no workspace, `, ` between workspaces,
  ``No sandboxes found.`` for none. Columns are cut at the header's
  offsets (the tools align with Go's tabwriter), so a path with spaces
  survives.
- `ls --json`: the list under ``vms`` (plugin G1) or ``sandboxes``
  (plugin G2, sbx), ``workspaces`` possibly missing, entries possibly
  ending in `:ro`; a daemon banner may come first (sbx, docker/sbx-
  releases#201). A `:ro` (or `:readonly`) suffix is kept in
  ``SandboxInfo.workspaces``, as listed, and stripped wherever a path
  is compared (``Workspace.matches``), as the reference's adapter rule
  says.
- `version`: ``github.com/docker/sandboxes/cli-plugin vX.Y.Z <sha>``,
  sbx ``Client Version:  vX <sha>`` (up to 0.31) and ``sbx version: vX
  <sha>`` (later).
- `sbx secret ls --service S` (JSON ``{"secrets": [...]}``, read for
  its length only, or the table), `sbx
  template ls` (table or JSON), `docker image load` output.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from returns.result import Failure, Result, Success

from sandwarden.domain.auth import find_json_object
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.sandbox import SandboxInfo, SandboxStatus
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

__all__ = [
    "StoredCredential",
    "find_sandbox",
    "parse_loaded_images",
    "parse_plugin_version",
    "parse_sandbox_list",
    "parse_sbx_version",
    "parse_secrets",
    "parse_templates",
]

_VERSION = re.compile(r"\bv?(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)")
_PLUGIN_VERSION = re.compile(
    r"cli-plugin\s+v?(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)",
)
_SBX_VERSION = re.compile(
    r"(?:Client Version:|sbx version:)\s*v?(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)",
    re.IGNORECASE,
)
_LOADED = re.compile(r"^Loaded image:\s*(\S+)\s*$", re.MULTILINE)
_EMPTY_LIST = re.compile(
    r"^\s*No (?:sandboxes|template images) found\.?\s*$",
    re.IGNORECASE | re.MULTILINE,
)

# Header words of the `ls` tables, in the order they may appear; a
# multi-word header is one column.
_LS_COLUMNS = (
    "SANDBOX ID",
    "VM ID",
    "SOCKET PATH",
    "SANDBOX",
    "TEMPLATE",
    "NAME",
    "AGENTS",
    "AGENT",
    "STATUS",
    "PORTS",
    "WORKSPACE",
    "SANDBOXES",
    "CREATED",
)
_TEMPLATE_COLUMNS = ("REPOSITORY", "TAG", "IMAGE ID", "FLAVOR", "CREATED")
_SECRET_COLUMNS = ("SCOPE", "TYPE", "NAME", "SECRET")


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """
    What `sbx secret ls` says about one service's credential on the host.

    ``oauth`` is true when the stored secret is known to be a /login
    token rather than an API key; ``scopes`` lists where it is stored
    (``(global)`` or sandbox names) when the table said so.
    """

    service: str
    stored: bool
    oauth: bool = False
    scopes: tuple[str, ...] = ()


def parse_sandbox_list(
    text: str,
) -> Result[tuple[SandboxInfo, ...], WardenError]:
    """Read the output of `ls` or `ls --json`, whichever it is."""
    document = find_json_object(text)
    if document is not None:
        return _sandboxes_from_json(document, text)
    if _EMPTY_LIST.search(text):
        return Success(())

    rows = _table(text, _LS_COLUMNS, required=("STATUS",))
    if rows is None:
        if not text.strip():
            return Success(())
        return Failure(_unreadable("`ls`", "a table or JSON", text))

    return Success(tuple(_sandbox_from_row(row) for row in rows))


def find_sandbox(
    sandboxes: Sequence[SandboxInfo],
    name: SandboxName,
    workspace: Workspace,
    resolved: str | None = None,
) -> Result[SandboxInfo | None, WardenError]:
    """
    Find ``name`` in a listing and check its primary workspace.

    None: no such sandbox. A sandbox over another workspace is a
    ``workspace_mismatch`` naming both paths; one listed without any
    workspace passes (the tools omit it for stopped sandboxes).
    """
    for info in sandboxes:
        if info.name != name.value:
            continue
        if not info.workspaces:
            return Success(info)
        if any(workspace.matches(w, resolved) for w in info.workspaces):
            return Success(info)
        listed = ", ".join(info.workspaces)
        return Failure(
            WardenError(
                ErrorKind.WORKSPACE_MISMATCH,
                f"sandbox {name.value!r} is over {listed}, not the "
                f"configured workspace {workspace.path}; use the same "
                "absolute path at create, exec and in the settings",
                detail=f"listed={listed} configured={workspace.path}",
            ),
        )

    return Success(None)


def parse_plugin_version(text: str) -> Result[str, WardenError]:
    """Read `docker sandbox version`: ``v0.12.0`` from the plugin line."""
    found = _PLUGIN_VERSION.search(text) or _VERSION.search(text)
    if found is None:
        return Failure(
            _unreadable(
                "`docker sandbox version`",
                "'github.com/docker/sandboxes/cli-plugin vX.Y.Z <sha>'",
                text,
            ),
        )

    return Success(f"v{found.group(1)}")


def parse_sbx_version(text: str) -> Result[str, WardenError]:
    """Read `sbx version` in its old and new text forms, or its JSON."""
    document = find_json_object(text)
    if document is not None:
        for key in ("version", "Version", "clientVersion", "client"):
            value = document.get(key)
            if isinstance(value, Mapping):
                value = value.get("version") or value.get("Version")
            found = _VERSION.search(value) if isinstance(value, str) else None
            if found is not None:
                return Success(f"v{found.group(1)}")
    found = _SBX_VERSION.search(text) or _VERSION.search(text)
    if found is None:
        return Failure(
            _unreadable(
                "`sbx version`",
                "'sbx version: vX.Y.Z <sha>' or 'Client Version: vX.Y.Z'",
                text,
            ),
        )

    return Success(f"v{found.group(1)}")


def parse_secrets(
    text: str,
    service: str = "anthropic",
) -> Result[StoredCredential, WardenError]:
    """
    Read `sbx secret ls --service SERVICE [--json]` for that credential.

    JSON: sbx has filtered by service, so a non-empty ``secrets`` list
    means one is stored (``null``, Go's empty list, means none). Its
    entries' keys are not documented and are not read: JSON tells
    neither the kind nor the scope. The table names the service in its
    rows and marks a /login token ``(oauth configured)``.
    """
    document = find_json_object(text)
    if document is not None:
        # A missing key is not "none stored": it is some other answer.
        entries = document.get("secrets") if "secrets" in document else ()
        if entries is None:
            entries = []
        if not isinstance(entries, list):
            return Failure(
                _unreadable(
                    "`sbx secret ls --json`",
                    "an object with a 'secrets' list",
                    text,
                )
            )
        return Success(StoredCredential(service, bool(entries)))

    scopes: list[str] = []
    oauth = False
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] in {"SCOPE", "ERROR:", "WARN:"}:
            continue
        if service not in (word.lower() for word in words):
            continue
        scopes.append(words[0])
        oauth = oauth or "oauth" in line.lower()

    return Success(
        StoredCredential(service, bool(scopes), oauth, tuple(scopes)),
    )


def parse_templates(text: str) -> Result[tuple[ImageTag, ...], WardenError]:
    """Read `sbx template ls [--json]`: the image tags in the store."""
    document = find_json_object(text)
    if document is not None:
        return Success(_templates_from_json(document))
    if _EMPTY_LIST.search(text) or not text.strip():
        return Success(())

    rows = _table(text, _TEMPLATE_COLUMNS, required=("REPOSITORY", "TAG"))
    if rows is None:
        return Failure(_unreadable("`sbx template ls`", "a table", text))
    tags = []
    for row in rows:
        parsed = ImageTag.parse(f"{row['REPOSITORY']}:{row['TAG']}")
        if parsed.value_or(None) is not None:
            tags.append(parsed.unwrap())

    return Success(tuple(tags))


def parse_loaded_images(text: str) -> tuple[ImageTag, ...]:
    """The tags named by ``Loaded image: NAME:TAG`` lines of a load."""
    tags = []
    for raw in _LOADED.findall(text):
        parsed = ImageTag.parse(raw)
        if parsed.value_or(None) is not None:
            tags.append(parsed.unwrap())

    return tuple(tags)


# JSON shapes.


def _sandboxes_from_json(
    document: Mapping[str, object],
    text: str,
) -> Result[tuple[SandboxInfo, ...], WardenError]:
    entries = document.get("sandboxes", document.get("vms"))
    if entries is None and ("sandboxes" in document or "vms" in document):
        return Success(())
    if not isinstance(entries, list):
        return Failure(
            _unreadable("`ls --json`", "a 'sandboxes' or 'vms' list", text),
        )
    infos = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(
            entry.get("name"), str
        ):
            return Failure(
                _unreadable("`ls --json`", "entries with a 'name'", text)
            )
        infos.append(
            SandboxInfo(
                name=entry["name"],
                agent=_text(entry.get("agent")),
                status=_status(_text(entry.get("status"))),
                workspaces=_workspaces(entry.get("workspaces")),
            ),
        )

    return Success(tuple(infos))


def _workspaces(raw: object) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return ()

    return tuple(item for item in raw if isinstance(item, str) and item)


def _templates_from_json(
    document: Mapping[str, object],
) -> tuple[ImageTag, ...]:
    entries = document.get("templates", document.get("images", []))
    if not isinstance(entries, list):
        return ()
    tags = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        repository = _text(entry.get("repository") or entry.get("name"))
        tag = _text(entry.get("tag")) or "latest"
        reference = repository if ":" in repository else f"{repository}:{tag}"
        parsed = ImageTag.parse(reference)
        if parsed.value_or(None) is not None:
            tags.append(parsed.unwrap())

    return tuple(tags)


# Tables.


def _table(
    text: str,
    columns: Sequence[str],
    required: Sequence[str],
) -> list[dict[str, str]] | None:
    """
    Cut a tabwriter table at its header's column offsets.

    The header is the first line holding every ``required`` column; lines
    before it (a daemon banner) are skipped. A row too short for the
    offsets falls back to splitting on runs of two or more spaces.
    """
    lines = text.splitlines()
    headers = [
        (index, _header_offsets(line, columns))
        for index, line in enumerate(lines)
    ]
    found = [
        (index, offsets)
        for index, offsets in headers
        if all(name in offsets for name in required)
    ]
    if not found:
        return None
    index, offsets = found[0]

    ordered = sorted(offsets.items(), key=lambda item: item[1])
    rows = []
    for line in lines[index + 1 :]:
        if not line.strip():
            continue
        rows.append(_cut_row(line, ordered))

    return rows


def _header_offsets(line: str, columns: Sequence[str]) -> dict[str, int]:
    offsets: dict[str, int] = {}
    taken: list[tuple[int, int]] = []
    for name in columns:
        for found in re.finditer(
            rf"(?<![A-Z]){re.escape(name)}(?![A-Z])", line
        ):
            span = (found.start(), found.end())
            if not any(a < span[1] and span[0] < b for a, b in taken):
                offsets[name] = span[0]
                taken.append(span)
                break

    return offsets


def _cut_row(line: str, ordered: list[tuple[str, int]]) -> dict[str, str]:
    aligned = all(
        start == 0 or (len(line) > start and line[start - 1] == " ")
        for _, start in ordered[:-1]
    )
    if aligned:
        cells = {}
        for position, (name, start) in enumerate(ordered):
            end = (
                ordered[position + 1][1]
                if position + 1 < len(ordered)
                else len(line)
            )
            cells[name] = line[start:end].strip()
        return cells

    parts = re.split(r"\s{2,}|\t+", line.strip())
    # The last column takes whatever is left (joined workspaces).
    head = parts[: len(ordered) - 1]
    tail = "  ".join(parts[len(ordered) - 1 :])

    return {
        name: value
        for (name, _), value in zip(ordered, [*head, tail], strict=False)
    }


def _sandbox_from_row(row: Mapping[str, str]) -> SandboxInfo:
    name = row.get("SANDBOX") or row.get("NAME") or ""
    agent = row.get("AGENT") or row.get("AGENTS") or ""
    if not agent and row.get("TEMPLATE"):
        agent = "claude" if "claude" in row["TEMPLATE"] else row["TEMPLATE"]
    workspace = row.get("WORKSPACE", "").strip()
    workspaces: tuple[str, ...] = ()
    if workspace and workspace != "-":
        workspaces = tuple(
            part.strip() for part in workspace.split(", ") if part.strip()
        )

    return SandboxInfo(
        name=name,
        agent=agent,
        status=_status(row.get("STATUS", "")),
        workspaces=workspaces,
    )


def _status(raw: str) -> SandboxStatus:
    word = raw.strip().lower().split(" ", 1)[0] if raw.strip() else ""
    if word in {"running", "up"}:
        return SandboxStatus.RUNNING
    if word in {"stopped", "exited", "stopping"}:
        return SandboxStatus.STOPPED

    return SandboxStatus.UNKNOWN


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _unreadable(what: str, expected: str, text: str) -> WardenError:
    return WardenError(
        ErrorKind.UNKNOWN,
        f"could not read the output of {what}; expected {expected}",
        detail=text[-2000:],
    )
