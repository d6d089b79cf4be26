"""
Capture what each installed Claude CLI prints, and what changed between.

Run it after ``scripts/install-claude`` for each version to compare::

    .venv/bin/python -m tests.realcli.compat            # every cached one
    .venv/bin/python -m tests.realcli.compat 2.1.332 2.1.142

For each version it runs the tier's scenarios against the Messages API
stand-in, writes the transcripts to ``tests/realcli/captures/<version>/``
(machine paths and ports scrubbed) and then writes
``docs/compatibility.md``: the versions run, the event types and keys
each printed, and the differences between neighbours. The summary table
in the README, between ``README_START`` and ``README_END``, is rendered
from the same captures by ``readme_table`` and rewritten with it.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sandwarden.domain.invocation import ClaudeRun
from sandwarden.domain.values import SessionId
from sandwarden.simulator.messages_api import (
    Malformed,
    MessagesApi,
    Reply,
    Text,
    ToolUse,
    overloaded,
    rate_limited,
    unauthorized,
    usage_limit_reached,
)
from tests.realcli.harness import (
    ROOT,
    cached_versions,
    claude_env,
    print_argv,
)

CAPTURES = Path(__file__).resolve().parent / "captures"
DOC = ROOT / "docs" / "compatibility.md"
README = ROOT / "README.md"
README_START = "<!-- compatibility table: python -m tests.realcli.compat -->"
README_END = "<!-- end of the compatibility table -->"
OAUTH = {"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-dummy"}
# Long enough for the first retry of a dead login to be printed (the CLI
# waits about 0.5 s before it), short enough not to wait for the rest.
RETRY_WINDOW = 2.0


@dataclass(frozen=True)
class Capture:
    """One scenario's output, scrubbed of this machine's paths."""

    stdout: str
    stderr: str
    exit_code: int | None
    requests: tuple[str, ...]

    def lines(self) -> list[dict[str, object]]:
        return [
            json.loads(line)
            for line in self.stdout.splitlines()
            if line.startswith("{")
        ]


@dataclass(frozen=True)
class Scenario:
    """A run of the CLI: what the API answers and how it is invoked."""

    name: str
    script: tuple[Reply, ...] = (Text("ok"),)
    run: ClaudeRun | None = None
    args: tuple[str, ...] | None = None
    api_key: bool = True
    env: Mapping[str, str] | None = None
    timeout: float | None = None
    extension: str = "jsonl"


SCENARIOS = (
    Scenario("plain", (Text("Hello from the stand-in.", pieces=3),)),
    Scenario(
        "tool_partial",
        (
            ToolUse("Bash", {"command": "echo made > made.txt"}, text="Ok."),
            Text("Made it.", pieces=2),
        ),
        run=ClaudeRun(partial_messages=True),
    ),
    Scenario("logged_out", api_key=False),
    Scenario("oauth_token", api_key=False, env=OAUTH),
    Scenario("dead_login", (unauthorized(),), timeout=RETRY_WINDOW),
    Scenario("overloaded_then_ok", (overloaded(), Text("back again"))),
    Scenario("quota_429", (rate_limited(retry_after=3600),)),
    Scenario(
        "plan_limit_oauth",
        (usage_limit_reached(int(time.time()) + 3 * 3600),),
        api_key=False,
        env=OAUTH,
    ),
    Scenario("malformed_event", (Malformed(),)),
    Scenario(
        "auth_status_logged_out", args=("auth", "status"), extension="json"
    ),
    Scenario(
        "auth_status_api_key",
        args=("auth", "status"),
        env={"ANTHROPIC_API_KEY": "sk-ant-api03-dummy"},
        extension="json",
    ),
    Scenario(
        "auth_status_oauth_token",
        args=("auth", "status"),
        env=OAUTH,
        extension="json",
    ),
    Scenario(
        "auth_status_text_logged_out",
        args=("auth", "status", "--text"),
        extension="txt",
    ),
    Scenario(
        "auth_status_text_api_key",
        args=("auth", "status", "--text"),
        env={"ANTHROPIC_API_KEY": "sk-ant-api03-dummy"},
        extension="txt",
    ),
    Scenario(
        "auth_status_text_oauth_token",
        args=("auth", "status", "--text"),
        env=OAUTH,
        extension="txt",
    ),
)


def run_scenario(
    binary: Path,
    scenario: Scenario,
    tmp: Path,
    resume: str | None = None,
) -> Capture:
    """Run one scenario in fresh directories under ``tmp``."""
    home = tmp / f"home-{scenario.name}"
    work = tmp / f"work-{scenario.name}"
    home.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    with MessagesApi(scenario.script) as api:
        env = claude_env(
            home,
            api if scenario.args is None else None,
            api_key=scenario.api_key,
            extra=scenario.env,
        )
        if scenario.args is not None:
            argv = [str(binary), *scenario.args]
        else:
            run = scenario.run or ClaudeRun()
            if resume is not None:
                run = ClaudeRun(resume=SessionId.parse(resume).unwrap())
            argv = print_argv(binary, run)
        stdout, stderr, code = _run(argv, env, work, scenario.timeout)
        requests = tuple(
            f"{r.method} {r.path.split('?')[0]}" for r in api.requests
        )
        url = api.url

    scrub = _scrubber({str(work): "/workspace", str(home): "/home/user"}, url)

    return Capture(scrub(stdout), scrub(stderr), code, requests)


def _run(
    argv: list[str],
    env: Mapping[str, str],
    cwd: Path,
    timeout: float | None,
) -> tuple[str, str, int | None]:
    try:
        done = subprocess.run(
            argv,
            input=b"hello",
            capture_output=True,
            env=dict(env),
            cwd=cwd,
            timeout=timeout or 30.0,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        # The scenario stops the CLI on purpose: keep what it printed.
        return _text(expired.stdout), _text(expired.stderr), None

    return _text(done.stdout), _text(done.stderr), done.returncode


def _text(data: bytes | str | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")

    return data or ""


def _scrubber(paths: Mapping[str, str], url: str) -> Callable[[str], str]:
    # Claude names a project's folder after its path, "/" and "." as "-".
    dashed = {
        re.sub(r"[^A-Za-z0-9]", "-", path): re.sub(r"/", "-", stand_in)
        for path, stand_in in paths.items()
    }

    def scrub(text: str) -> str:
        for path, stand_in in (*paths.items(), *dashed.items()):
            text = text.replace(path, stand_in)
        text = text.replace(url, "http://127.0.0.1:PORT")

        return re.sub(r"/tmp/[\w.-]+", "/tmp/X", text)

    return scrub


def capture_version(binary: Path) -> dict[str, Capture]:
    """Every scenario, plus a resume and an unknown resume, for one CLI."""
    captures: dict[str, Capture] = {}
    with tempfile.TemporaryDirectory(prefix="sandwarden-compat-") as tmp:
        root = Path(tmp)
        for scenario in SCENARIOS:
            captures[scenario.name] = run_scenario(binary, scenario, root)
        captures.update(_resumes(binary, root))

    return captures


def _resumes(binary: Path, root: Path) -> dict[str, Capture]:
    """A first turn, its resume (same home and workspace), an unknown id."""
    first = Scenario("resume", (Text("first"), Text("second")))
    home, work = root / "home-resume", root / "work-resume"
    home.mkdir()
    work.mkdir()
    with MessagesApi(first.script) as api:
        env = claude_env(home, api)
        one, _, _ = _run(print_argv(binary), env, work, None)
        session = str(json.loads(one.splitlines()[-1])["session_id"])
        run = ClaudeRun(resume=SessionId.parse(session).unwrap())
        two, err, code = _run(print_argv(binary, run), env, work, None)
        url = api.url
    scrub = _scrubber({str(work): "/workspace", str(home): "/home/user"}, url)
    resumed = Capture(scrub(two), scrub(err), code, ())
    resumed_id = str(json.loads(two.splitlines()[-1])["session_id"])

    unknown = "0e5c7d3a-1111-4222-8333-944445555666"
    missing = run_scenario(
        binary, Scenario("unknown_resume"), root, resume=unknown
    )
    lines = missing.lines()
    notes = {
        "resume_keeps_id": resumed_id == session,
        "unknown_resume_echoes_id": bool(lines)
        and lines[-1].get("session_id") == unknown,
    }

    return {
        "resume": resumed,
        "unknown_resume": missing,
        "_notes": Capture(json.dumps(notes), "", 0, ()),
    }


def write_captures(version: str, captures: Mapping[str, Capture]) -> None:
    """Store one version's transcripts, one file per scenario."""
    folder = CAPTURES / version
    folder.mkdir(parents=True, exist_ok=True)
    extensions = {s.name: s.extension for s in SCENARIOS}
    index: dict[str, object] = {}
    for name, capture in sorted(captures.items()):
        if name == "_notes":
            index["notes"] = json.loads(capture.stdout)
            continue
        extension = extensions.get(name, "jsonl")
        (folder / f"{name}.{extension}").write_text(capture.stdout)
        if capture.stderr:
            (folder / f"{name}.stderr").write_text(capture.stderr)
        index[name] = {
            "exit_code": capture.exit_code,
            "requests": list(capture.requests),
        }
    (folder / "index.json").write_text(json.dumps(index, indent=2) + "\n")


def load_captures(version: str) -> dict[str, Capture]:
    """Read back what ``write_captures`` stored for ``version``."""
    folder = CAPTURES / version
    index = json.loads((folder / "index.json").read_text())
    captures = {
        "_notes": Capture(json.dumps(index.pop("notes")), "", 0, ()),
    }
    extensions = {s.name: s.extension for s in SCENARIOS}
    for name, meta in index.items():
        stored = folder / f"{name}.{extensions.get(name, 'jsonl')}"
        errors = folder / f"{name}.stderr"
        captures[name] = Capture(
            stored.read_text(),
            errors.read_text() if errors.exists() else "",
            meta["exit_code"],
            tuple(meta["requests"]),
        )

    return captures


def committed_versions() -> list[str]:
    """The versions with committed captures, newest first."""
    found = [p.parent.name for p in CAPTURES.glob("*/index.json")]

    return sorted(found, key=_key, reverse=True)


def shapes(captures: Mapping[str, Capture]) -> dict[str, set[str]]:
    """The keys seen per event kind, over every stream-json scenario."""
    seen: dict[str, set[str]] = {}
    for name, capture in captures.items():
        if name.startswith(("auth_status", "_")):
            continue
        for line in capture.lines():
            kind = _kind(line)
            keys = seen.setdefault(kind, set())
            for key, value in line.items():
                keys.add(key)
                if key in {"message", "event", "rate_limit_info"} and (
                    isinstance(value, dict)
                ):
                    keys.update(f"{key}.{inner}" for inner in value)
    for name, capture in captures.items():
        if name.startswith("auth_status_") and "text" not in name:
            document = json.loads(capture.stdout or "{}")
            seen.setdefault("auth status --json", set()).update(document)

    return seen


def _kind(line: Mapping[str, object]) -> str:
    kind = str(line.get("type"))
    if kind == "system":
        return f"system/{line.get('subtype')}"
    if kind == "stream_event" and isinstance(line.get("event"), dict):
        return f"stream_event/{line['event']['type']}"  # type: ignore[index]
    if kind == "result":
        return f"result/{line.get('subtype')}"

    return kind


def behaviours(captures: Mapping[str, Capture]) -> dict[str, str]:
    """Facts per version that a parser or the warden depends on."""
    notes = json.loads(captures["_notes"].stdout)
    retries = _retries(captures["dead_login"])
    overload = _retries(captures["overloaded_then_ok"])
    probes = _side_requests(captures)
    quota = captures["quota_429"].lines()[-1]

    return {
        "`--resume` returns the same session id": _yes(
            notes["resume_keeps_id"]
        ),
        "unknown `--resume`: result's session id": (
            "the requested id"
            if notes["unknown_resume_echoes_id"]
            else "a new, made-up id"
        ),
        "401: first `api_retry`": _retry(retries),
        "529: `api_retry` error word": _retry(overload),
        "`retry_delay_ms` type": (
            type(retries[0]["retry_delay_ms"]).__name__ if retries else "-"
        ),
        "429 with a 1 h `retry-after`": (
            f"gives up at once: `{str(quota.get('result'))[:40]}…`"
        ),
        "spent plan quota (OAuth login)": _limit_text(
            captures["plan_limit_oauth"]
        ),
        "requests besides `POST /v1/messages`": ", ".join(probes) or "none",
        "malformed SSE event, then a malformed retry": _ending(
            captures["malformed_event"]
        ),
    }


def _ending(capture: Capture) -> str:
    """How a run ended: exit code, the result's subtype and is_error."""
    last = capture.lines()[-1]

    return (
        f"exit {capture.exit_code}, `{last.get('subtype')}` with "
        f"`is_error: {json.dumps(last.get('is_error'))}`"
    )


def readme_table(results: Mapping[str, Mapping[str, Capture]]) -> str:
    """The README's summary table for the versions in ``results``."""
    lines = [
        "| CLI | resume keeps the id | unknown `--resume` id "
        "| 529 `api_retry` error | start-up probe | spent plan quota says |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for version, captures in results.items():
        row = " | ".join(_summary(captures))
        lines.append(f"| {version} | {row} |")

    return "\n".join(lines) + "\n"


def _retries(capture: Capture) -> list[dict[str, object]]:
    """The ``api_retry`` events of a run, in order."""
    return [
        line for line in capture.lines() if line.get("subtype") == "api_retry"
    ]


def _side_requests(captures: Mapping[str, Capture]) -> list[str]:
    """Requests a version made besides ``POST /v1/messages``, sorted."""
    return sorted(
        {
            request
            for capture in captures.values()
            for request in capture.requests
            if not request.startswith("POST /v1/messages")
        }
    )


def _summary(captures: Mapping[str, Capture]) -> tuple[str, ...]:
    notes = json.loads(captures["_notes"].stdout)
    overload = _retries(captures["overloaded_then_ok"])
    probes = _side_requests(captures)
    quota = captures["plan_limit_oauth"].lines()[-1]
    said = str(quota.get("result", "")).split("·")[0].strip()

    return (
        _yes(notes["resume_keeps_id"]),
        "the requested one"
        if notes["unknown_resume_echoes_id"]
        else "a made-up one",
        f"`{overload[0].get('error')}`" if overload else "none seen",
        ", ".join(f"`{probe}`" for probe in probes) or "none",
        f'"{said}"',
    )


def readme_section(text: str) -> str | None:
    """The table between the README's markers, or None without them."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return None

    return text[start + len(README_START) : end].strip("\n") + "\n"


def with_readme_table(text: str, table: str) -> str:
    """``text`` (the README) with ``table`` between its markers."""
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        msg = f"README.md lacks the markers {README_START!r}/{README_END!r}"
        raise ValueError(msg)
    head = text[: start + len(README_START)]

    # Blank lines keep the markers apart from the table's own block.
    return f"{head}\n\n{table}\n{text[end:]}"


def _limit_text(capture: Capture) -> str:
    lines = capture.lines()
    statuses = [
        str(line["rate_limit_info"].get("status"))  # type: ignore[attr-defined]
        for line in lines
        if line.get("type") == "rate_limit_event"
    ]
    text = str(lines[-1].get("result", "")).split("·")[0].strip()

    return f"`rate_limit_event` {', '.join(statuses) or 'none'}; `{text}`"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _retry(retries: list[dict[str, object]]) -> str:
    if not retries:
        return "none seen"
    first = retries[0]

    return (
        f"status {first.get('error_status')}, "
        f"error `{first.get('error')}`, max_retries {first.get('max_retries')}"
    )


def render(results: Mapping[str, Mapping[str, Capture]]) -> str:
    """The compatibility page for the versions in ``results``, newest first."""
    versions = list(results)
    lines = [
        "# Claude CLI compatibility",
        "",
        "Produced by `python -m tests.realcli.compat` from real runs of each",
        "CLI against the Messages API stand-in; the transcripts are in",
        "`tests/realcli/captures/<version>/`. Do not edit by hand.",
        "",
        "## Versions tested",
        "",
        "| CLI | event kinds seen | scenarios run |",
        "| --- | --- | --- |",
    ]
    all_shapes = {v: shapes(results[v]) for v in versions}
    for version in versions:
        kinds = [k for k in all_shapes[version] if not k.startswith("auth")]
        lines.append(
            f"| {version} | {len(kinds)} | {len(results[version]) - 1} |"
        )
    lines += ["", "## Behaviour", "", "| | " + " | ".join(versions) + " |"]
    lines.append("| --- |" + " --- |" * len(versions))
    facts = {v: behaviours(results[v]) for v in versions}
    for fact in facts[versions[0]]:
        row = " | ".join(facts[v][fact] for v in versions)
        lines.append(f"| {fact} | {row} |")
    for newer, older in itertools.pairwise(versions):
        lines += ["", f"## From {older} to {newer}", ""]
        lines += _diff(all_shapes[older], all_shapes[newer])

    return "\n".join(lines) + "\n"


def _diff(
    old: Mapping[str, set[str]], new: Mapping[str, set[str]]
) -> list[str]:
    out: list[str] = []
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    if added:
        out.append("New event kinds: " + ", ".join(f"`{k}`" for k in added))
        out.append("")
    if removed:
        out.append(
            "Event kinds no longer seen: "
            + ", ".join(f"`{k}`" for k in removed)
        )
        out.append("")
    out += [
        "| event kind | keys added | keys removed |",
        "| --- | --- | --- |",
    ]
    for kind in sorted(set(old) & set(new)):
        plus = sorted(new[kind] - old[kind])
        minus = sorted(old[kind] - new[kind])
        if plus or minus:
            out.append(f"| `{kind}` | {_codes(plus)} | {_codes(minus)} |")

    return out


def _codes(keys: list[str]) -> str:
    return ", ".join(f"`{k}`" for k in keys) or "-"


def main(argv: list[str]) -> int:
    """Capture the named versions (default: every cached one), write docs."""
    installed = dict(cached_versions())
    wanted = argv or list(installed)
    missing = [v for v in wanted if v not in installed]
    if missing or len(wanted) < 1:
        print(
            f"not installed: {', '.join(missing) or 'any version'}; "
            "run scripts/install-claude <version>",
            file=sys.stderr,
        )
        return 1
    results: dict[str, dict[str, Capture]] = {}
    for version in sorted(wanted, key=_key, reverse=True):
        results[version] = capture_version(installed[version])
        write_captures(version, results[version])
        print(f"captured {version}", file=sys.stderr)
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(render(results))
    README.write_text(
        with_readme_table(README.read_text(), readme_table(results))
    )
    print(DOC.relative_to(ROOT))
    print(README.relative_to(ROOT))

    return 0


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
