"""
The doctor: every check of the specification, each with its fix.

Checks run in order, and a check that needs an earlier one to pass is
skipped with the reason rather than failed a second time::

    tool ── daemon ── sandbox ── workspace ─┬─ login ── billing
      │                                     └─ parity
      └─ image store ── template
    backup (host only)

Every finding says what it saw and, when something is wrong, the
command or action that fixes it, in the dialect of the tool in use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum, unique

from returns.pipeline import is_successful
from returns.result import Result

from sandwarden.domain.auth import AuthStatus, check_billing
from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.parity import Parity, ParityVerdict
from sandwarden.domain.sandbox import Capabilities, SandboxInfo
from sandwarden.domain.templates import previous_tag
from sandwarden.domain.values import ImageTag, SandboxName
from sandwarden.service.backups import Backup, Backups, Integrity
from sandwarden.service.deps import Deps
from sandwarden.service.journal import Topic
from sandwarden.service.probe import (
    Prober,
    login_command,
    retarget_login,
)
from sandwarden.service.templates import active_sandbox

__all__ = ["Check", "CheckStatus", "Doctor", "Finding", "Report"]

#: How old the newest backup may be before the doctor warns: a week.
BACKUP_MAX_AGE = 7 * 24 * 3600.0

_PLUGIN_MISSING = (
    "the docker client is installed but its sandbox plugin is not: "
    "`docker sandbox` is missing (Docker Desktop 4.58+ ships it, or "
    "install the standalone sbx CLI)"
)


@unique
class Check(StrEnum):
    """The doctor's checks, in the order they run."""

    TOOL = "tool"
    DAEMON = "daemon"
    IMAGE_STORE = "image_store"
    SANDBOX = "sandbox"
    WORKSPACE = "workspace"
    LOGIN = "login"
    BILLING = "billing"
    PARITY = "parity"
    TEMPLATE = "template"
    BACKUP = "backup"


@unique
class CheckStatus(StrEnum):
    """How a check came out; ``skipped`` when it could not apply."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


_SEVERITY = {
    CheckStatus.OK: 0,
    CheckStatus.SKIPPED: 0,
    CheckStatus.WARN: 1,
    CheckStatus.FAIL: 2,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """What one check saw; ``fix`` is the command or action that fixes it."""

    check: Check
    status: CheckStatus
    summary: str
    fix: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    """Every finding, in check order."""

    findings: tuple[Finding, ...]

    @property
    def status(self) -> CheckStatus:
        """The worst status: fail, else warn, else ok."""
        worst = max(
            (_SEVERITY[f.status] for f in self.findings),
            default=0,
        )

        return (CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL)[worst]

    def finding(self, check: Check) -> Finding:
        """The finding of ``check``."""
        return next(f for f in self.findings if f.check is check)


class Doctor:
    """
    Diagnoses the installation, the sandbox and the backups.

    ``backup_dir`` None skips the backup check; ``backup_max_age`` is in
    seconds.
    """

    def __init__(
        self,
        deps: Deps,
        prober: Prober,
        *,
        backup_dir: str | None = None,
        backup_max_age: float = BACKUP_MAX_AGE,
    ) -> None:
        self._deps = deps
        self._prober = prober
        self._backup_dir = backup_dir
        self._backup_max_age = backup_max_age

    async def parity(self, sandbox: SandboxName | None = None) -> Parity:
        """Compare host and sandbox HEADs (the active sandbox by default)."""
        name = sandbox or await active_sandbox(self._deps)
        return await self._prober.parity(name)

    async def diagnose(self) -> Report:
        """Run every check; never fails, every problem is a finding."""
        deps = self._deps
        name = await active_sandbox(deps)
        caps = await deps.runtime.capabilities()
        tool = _tool_of(caps)
        run = _Run(deps, name, tool)

        installed = run.tool(caps)
        listed = await run.daemon(installed)
        store = run.image_store(caps, installed)
        templates = await run.template_state(store)
        info = run.sandbox(listed, templates)
        mounted = run.workspace(info)
        status = await run.login(mounted)
        run.billing(status)
        await run.parity(mounted, self._prober)
        run.template(store, templates)
        await self._backup(run)
        report = Report(tuple(run.findings))
        counts = {
            str(status): sum(f.status is status for f in report.findings)
            for status in CheckStatus
        }
        deps.note(
            Topic.DOCTOR,
            f"doctor: {report.status}",
            sandbox=str(name),
            **counts,
        )

        return report

    async def _backup(self, run: _Run) -> None:
        if self._backup_dir is None:
            run.skip(Check.BACKUP, "no backup directory is configured")
            return
        backups = Backups(
            self._deps,
            self._prober,
            directory=self._backup_dir,
        )
        found = await backups.list()
        run.backup(found, self._backup_dir, self._backup_max_age)


@dataclass(frozen=True, slots=True)
class _Tool:
    """The tool's command prefix and the spelling of its options."""

    prefix: str
    template_flag: str
    start: str

    def create(self, name: SandboxName, workspace: str, tag: str) -> str:
        template = f" {self.template_flag} {tag}" if tag else ""
        return f"`{self.prefix} create{template} --name {name} claude " + (
            f"{workspace}`"
        )

    def login(self, name: SandboxName, configured: SandboxName) -> str:
        return (
            f"{login_command(name, configured)}, or by hand: "
            f"`{self.prefix} exec -it {name} claude` and run /login"
        )


_DOCKER = _Tool("docker sandbox", "--template", "start Docker Desktop")
_SBX = _Tool("sbx", "-t", "start the sbx daemon: `sbx daemon start`")


def _tool_of(caps: Result[Capabilities, WardenError]) -> _Tool:
    if is_successful(caps):
        said = caps.unwrap().tool
    else:
        error = caps.failure()
        said = f"{error.message} {error.detail}"

    return _SBX if "sbx" in said.lower() else _DOCKER


class _Run:
    """One diagnosis: the findings so far and what the checks share."""

    def __init__(self, deps: Deps, name: SandboxName, tool: _Tool) -> None:
        self.deps = deps
        self.name = name
        self.tool_ = tool
        self.findings: list[Finding] = []
        self.skipped: dict[Check, str] = {}

    def add(
        self,
        check: Check,
        status: CheckStatus,
        summary: str,
        fix: str = "",
        detail: str = "",
    ) -> None:
        self.findings.append(Finding(check, status, summary, fix, detail))

    def skip(self, check: Check, reason: str, *after: Check) -> None:
        """
        Skip ``check``; when one of ``after`` was skipped, for its reason.

        So a missing tool reads as the reason all the way down, not
        "the daemon does not answer" then "the sandbox does not exist".
        """
        for earlier in after:
            reason = self.skipped.get(earlier, reason)
        self.skipped[check] = reason
        self.add(check, CheckStatus.SKIPPED, f"skipped: {reason}")

    def tool(self, caps: Result[Capabilities, WardenError]) -> bool:
        if is_successful(caps):
            found = caps.unwrap()
            self.add(
                Check.TOOL,
                CheckStatus.OK,
                f"{found.tool} {found.version or '(version unknown)'} "
                "is installed",
            )
            return True
        error = caps.failure()
        if error.reason is UnavailableReason.PLUGIN_MISSING:
            self.add(
                Check.TOOL,
                CheckStatus.FAIL,
                _PLUGIN_MISSING,
                "install or update Docker Desktop to 4.58 or later and "
                "enable its sandboxes, or install the sbx CLI and use the "
                "sbx runtime",
                error.detail,
            )
            return False
        if error.reason is UnavailableReason.TOOL_MISSING:
            self.add(
                Check.TOOL,
                CheckStatus.FAIL,
                f"{self.tool_.prefix.split()[0]} is not installed or not "
                f"on PATH: {error.message}",
                "install Docker Desktop 4.58 or later (for `docker "
                "sandbox`) or the sbx CLI, and put it on PATH",
                error.detail,
            )
            return False
        # The tool answered, only not well: the next checks say why.
        self.add(
            Check.TOOL,
            CheckStatus.OK,
            f"{self.tool_.prefix} is installed (its version is unknown: "
            f"{error.message})",
        )
        return True

    async def daemon(
        self,
        installed: bool,
    ) -> tuple[SandboxInfo, ...] | None:
        if not installed:
            self.skip(Check.DAEMON, "the sandbox tool is not installed")
            return None
        listed = await self.deps.runtime.list()
        if is_successful(listed):
            count = len(listed.unwrap())
            self.add(
                Check.DAEMON,
                CheckStatus.OK,
                f"the sandbox daemon answers ({count} sandbox"
                f"{'' if count == 1 else 'es'})",
            )
            return listed.unwrap()
        error = listed.failure()
        match error.reason:
            case UnavailableReason.DAEMON_DOWN:
                summary = "the sandbox daemon is not running"
                fix = (
                    f"{self.tool_.start}; existing sandboxes come back as "
                    "they were"
                )
            case UnavailableReason.WEDGED:
                summary = "the sandbox daemon hangs: it took no call"
                fix = (
                    "restart Docker Desktop (or `sbx daemon stop` then "
                    "`sbx daemon start`)"
                )
            case _:
                summary = f"the sandbox daemon does not answer: {error}"
                fix = (
                    f"run `{self.tool_.prefix} ls` to see the tool's own error"
                )
        self.add(
            Check.DAEMON,
            CheckStatus.FAIL,
            summary,
            fix,
            f"{error.message} {error.detail}".strip(),
        )

        return None

    def image_store(
        self,
        caps: Result[Capabilities, WardenError],
        installed: bool,
    ) -> bool:
        if not installed:
            self.skip(Check.IMAGE_STORE, "the sandbox tool is not installed")
            return False
        if not is_successful(caps):
            self.skip(
                Check.IMAGE_STORE,
                f"the tool could not be asked ({caps.failure().message})",
            )
            return False
        if caps.unwrap().image_store:
            self.add(
                Check.IMAGE_STORE,
                CheckStatus.OK,
                "the image store answers: templates, backups and restores "
                "work",
            )
            return True
        self.add(
            Check.IMAGE_STORE,
            CheckStatus.WARN,
            "the image store is not reachable: templates, backups and "
            "restores cannot run, and heals skip the template (running "
            "Claude in an existing sandbox still works)",
            self.tool_.start,
        )

        return False

    async def template_state(
        self,
        store: bool,
    ) -> tuple[bool, bool] | None:
        """Whether latest and prev exist; None when unknown."""
        template = self.deps.config.template
        if not store or template is None:
            return None
        found: list[bool] = []
        for tag in (template, previous_tag(template)):
            exists = await self.deps.runtime.image_exists(tag)
            if not is_successful(exists):
                return None
            found.append(exists.unwrap())

        return found[0], found[1]

    def sandbox(
        self,
        listed: tuple[SandboxInfo, ...] | None,
        templates: tuple[bool, bool] | None,
    ) -> SandboxInfo | None:
        name, config = self.name, self.deps.config
        if listed is None:
            self.skip(
                Check.SANDBOX,
                "the sandbox daemon does not answer",
                Check.DAEMON,
            )
            return None
        which = (
            f"sandbox '{name}'"
            if name == config.sandbox
            else f"sandbox '{name}' (active since a heal; configured: "
            f"'{config.sandbox}')"
        )
        for info in listed:
            if info.name == name.value:
                self.add(
                    Check.SANDBOX,
                    CheckStatus.OK,
                    f"{which} exists ({info.status})",
                )
                return info
        workspace = config.workspace.path
        if templates is not None and templates[0] and config.template:
            fix = (
                "`sandwarden heal` (creates it from the template), or by "
                "hand: "
                + self.tool_.create(name, workspace, str(config.template))
            )
        else:
            fix = (
                self.tool_.create(name, workspace, "")
                + f", then {login_command(name, config.sandbox)}"
            )
        self.add(
            Check.SANDBOX,
            CheckStatus.FAIL,
            f"{which} does not exist",
            fix,
        )

        return None

    def workspace(self, info: SandboxInfo | None) -> bool:
        if info is None:
            self.skip(
                Check.WORKSPACE, "the sandbox does not exist", Check.SANDBOX
            )
            return False
        workspace = self.deps.config.workspace
        resolved = self.deps.host.resolve(workspace)
        if any(workspace.matches(path, resolved) for path in info.workspaces):
            self.add(
                Check.WORKSPACE,
                CheckStatus.OK,
                f"the sandbox mounts the configured workspace {workspace}",
            )
            return True
        listed = ", ".join(info.workspaces) or "no workspace"
        create = self.tool_.create(self.name, workspace.path, "")
        self.add(
            Check.WORKSPACE,
            CheckStatus.FAIL,
            f"sandbox '{self.name}' mounts {listed} but the configured "
            f"workspace is {workspace}; they must be identical at create, "
            "exec and in the settings (a mismatch fails without a message)",
            f"recreate it: `{self.tool_.prefix} rm {self.name}` then "
            f"{create}; or set BOT_RUNTIME_DIR to the listed path",
        )

        return False

    async def login(self, mounted: bool) -> AuthStatus | None:
        if not mounted:
            self.skip(
                Check.LOGIN,
                "the sandbox does not mount the workspace",
                Check.WORKSPACE,
            )
            return None
        config = self.deps.config
        asked = await self.deps.runtime.auth_status(
            self.name,
            config.workspace,
            config.probe_limits,
        )
        if is_successful(asked) and asked.unwrap().logged_in:
            status = asked.unwrap()
            who = (
                f"as {status.email}"
                if status.email
                else f"({status.auth_method or 'method not reported'})"
            )
            self.add(
                Check.LOGIN,
                CheckStatus.OK,
                f"Claude is logged in inside '{self.name}' {who}",
            )
            return status
        if is_successful(asked) or asked.failure().kind is ErrorKind.AUTH:
            seen = (
                "is not logged in"
                if is_successful(asked)
                else f"cannot authenticate: {asked.failure().message}"
            )
            self.add(
                Check.LOGIN,
                CheckStatus.FAIL,
                f"Claude inside '{self.name}' {seen}",
                self.tool_.login(self.name, self.deps.config.sandbox),
            )
            return None
        error = asked.failure()
        self.add(
            Check.LOGIN,
            CheckStatus.FAIL,
            f"`claude auth status` could not be asked in '{self.name}': "
            f"{error.message}",
            f"run `{self.tool_.prefix} exec -it {self.name} claude` to see "
            "what Claude says",
            error.detail,
        )

        return None

    def billing(self, status: AuthStatus | None) -> None:
        if status is None:
            self.skip(Check.BILLING, "Claude is not logged in", Check.LOGIN)
            return
        allowed = self.deps.config.allow_api_key
        strict = check_billing(status, allow_api_key=False)
        if is_successful(strict):
            self.add(
                Check.BILLING,
                CheckStatus.OK,
                "Claude bills the subscription (first-party login, no API "
                "key)",
            )
            return
        error = retarget_login(
            strict.failure(), self.name, self.deps.config.sandbox
        )
        if allowed:
            self.add(
                Check.BILLING,
                CheckStatus.OK,
                f"{error.message} (allowed by SANDBOX_ALLOW_API_KEY_AUTH)",
            )
            return
        self.add(
            Check.BILLING,
            CheckStatus.FAIL,
            error.message,
            f"log in with the subscription: `{self.tool_.prefix} exec "
            f"{self.name} claude auth logout`, then "
            f"{self.tool_.login(self.name, self.deps.config.sandbox)}; "
            "remove ANTHROPIC_API_KEY from the sandbox's environment (or "
            "accept API billing with "
            "SANDBOX_ALLOW_API_KEY_AUTH=true)",
            error.detail,
        )

    async def parity(self, mounted: bool, prober: Prober) -> None:
        if not mounted:
            self.skip(
                Check.PARITY,
                "the sandbox does not mount the workspace",
                Check.WORKSPACE,
            )
            return
        found = await prober.parity(self.name)
        workspace = self.deps.config.workspace
        match found.verdict:
            case ParityVerdict.EQUAL:
                self.add(
                    Check.PARITY,
                    CheckStatus.OK,
                    f"host and sandbox are at {(found.host or '')[:12]}",
                )
            case ParityVerdict.NOT_A_REPOSITORY:
                self.skip(
                    Check.PARITY,
                    f"{workspace} is not a git repository, so there is no "
                    "commit to compare",
                )
            case ParityVerdict.DRIFT:
                strict = self.deps.config.check_parity
                self.add(
                    Check.PARITY,
                    CheckStatus.FAIL if strict else CheckStatus.WARN,
                    f"{found.why}: Claude works on other code than the host",
                    "recreate the sandbox: `sandwarden heal`; if the host "
                    f"is the stale side: `git -C {workspace} pull`",
                    f"host={found.host} sandbox={found.sandbox}",
                )
            case ParityVerdict.UNKNOWN:
                self.add(
                    Check.PARITY,
                    CheckStatus.WARN,
                    f"parity is unknown: {found.why}",
                    f"compare by hand: `git -C {workspace} rev-parse HEAD` "
                    f"and `{self.tool_.prefix} exec -w {workspace} "
                    f"{self.name} git rev-parse HEAD`",
                )

    def template(
        self,
        store: bool,
        templates: tuple[bool, bool] | None,
    ) -> None:
        template = self.deps.config.template
        if template is None:
            self.add(
                Check.TEMPLATE,
                CheckStatus.WARN,
                "no template is configured: heals cannot create an "
                "authenticated sandbox, only adopt one or ask for a login",
                "set SANDBOX_SELF_HEAL_TEMPLATE (e.g. sandwarden-auth:"
                "latest), then `sandwarden template save`",
            )
            return
        if not store:
            self.skip(
                Check.TEMPLATE,
                "the image store is not reachable",
                Check.IMAGE_STORE,
            )
            return
        if templates is None:
            self.skip(Check.TEMPLATE, "the image store did not answer")
            return
        latest, prev = templates
        previous = previous_tag(template)
        if not latest:
            self.add(
                Check.TEMPLATE,
                CheckStatus.WARN,
                f"template {template} is not in the image store: heals "
                "cannot create a logged-in sandbox",
                "`sandwarden template save` (once the sandbox is logged "
                "in), or `sandwarden restore` from a backup",
            )
            return
        self.add(
            Check.TEMPLATE,
            CheckStatus.OK,
            f"template {template} is present; "
            + (
                f"{previous} keeps the one before"
                if prev
                else f"no {previous} yet (the next save keeps one)"
            ),
        )

    def backup(
        self,
        found: Result[tuple[Backup, ...], WardenError],
        directory: str,
        max_age: float,
    ) -> None:
        if not is_successful(found):
            self.add(
                Check.BACKUP,
                CheckStatus.FAIL,
                f"the backup directory cannot be read: "
                f"{found.failure().message}",
                f"check the permissions of {directory} (it should be 0700 "
                "and yours)",
            )
            return
        newest = _newest(found.unwrap(), self.deps.config.template)
        make = "`sandwarden backup create`"
        if newest is None:
            self.add(
                Check.BACKUP,
                CheckStatus.WARN,
                f"there is no backup in {directory}: a lost image store "
                "(Docker reinstalled) loses the login with it",
                make,
            )
            return
        age = _age(newest.age)
        if newest.integrity in (Integrity.CORRUPT, Integrity.NO_MANIFEST):
            self.add(
                Check.BACKUP,
                CheckStatus.WARN,
                f"the newest backup {newest.path} cannot be trusted: "
                f"{newest.why}",
                make,
            )
        elif newest.age > max_age:
            self.add(
                Check.BACKUP,
                CheckStatus.WARN,
                f"the newest backup is {age} old (more than "
                f"{_age(max_age)}): {newest.path}",
                make,
            )
        else:
            self.add(
                Check.BACKUP,
                CheckStatus.OK,
                f"the newest backup is {age} old: {newest.path}",
            )


def _newest(
    backups: Sequence[Backup],
    template: ImageTag | None,
) -> Backup | None:
    mine = [b for b in backups if template is None or b.template == template]
    return mine[0] if mine else None


def _age(seconds: float) -> str:
    """A duration as a person says it: the largest whole unit."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count = int(seconds // size)
        if count >= 1:
            return f"{count} {unit}{'s' if count > 1 else ''}"

    return "less than a minute"
