"""The doctor: one test per check, its finding and its fix."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from sandwarden.domain.parity import ParityVerdict
from sandwarden.domain.sandbox import SandboxSpec
from sandwarden.domain.values import ImageTag, SandboxName, Workspace
from sandwarden.service.backups import Backups
from sandwarden.service.config import WardenConfig
from sandwarden.service.deps import Deps
from sandwarden.service.doctor import (
    Check,
    CheckStatus,
    Doctor,
    Finding,
    Report,
)
from sandwarden.service.journal import Journal
from sandwarden.service.probe import Prober
from sandwarden.simulator import (
    InMemoryStateStore,
    RecordingAlerts,
    SimulatedHost,
    SimulatedRuntime,
    VirtualClock,
    World,
)
from sandwarden.simulator.world import Login, LoginMethod, Tool

NAME = SandboxName("main")
WORKSPACE = Workspace("/srv/app")
TEMPLATE = ImageTag("sandwarden-auth", "latest")
DIRECTORY = "/home/op/.config/sandwarden/templates"
HEAD = "c0ffee" + "0" * 34
DAY = 86400.0


@dataclass
class Rig:
    """A healthy installation: sandbox, login, parity, templates, backup."""

    world: World
    clock: VirtualClock
    runtime: SimulatedRuntime
    deps: Deps

    def doctor(
        self,
        *,
        allow_api_key: bool = False,
        check_parity: bool = False,
        template: ImageTag | None = TEMPLATE,
    ) -> Doctor:
        config = replace(
            self.deps.config,
            allow_api_key=allow_api_key,
            check_parity=check_parity,
            template=template,
        )
        deps = replace(self.deps, config=config)
        return Doctor(deps, Prober(deps), backup_dir=DIRECTORY)

    def diagnose(
        self,
        *,
        allow_api_key: bool = False,
        check_parity: bool = False,
        template: ImageTag | None = TEMPLATE,
    ) -> Report:
        doctor = self.doctor(
            allow_api_key=allow_api_key,
            check_parity=check_parity,
            template=template,
        )
        return self.clock.run(doctor.diagnose())

    def wait(self, seconds: float) -> None:
        self.clock.run(asyncio.sleep(seconds))


def rig(tool: Tool = Tool.DOCKER_SANDBOX, *, backup: bool = True) -> Rig:
    world = World(seed=7, tool=tool)
    world.host_heads[WORKSPACE.path] = HEAD
    clock = VirtualClock()
    runtime = SimulatedRuntime(world, clock)
    deps = Deps(
        runtime=runtime,
        clock=clock,
        store=InMemoryStateStore(clock),
        host=SimulatedHost(world),
        alerts=RecordingAlerts(world, clock),
        journal=Journal(),
        config=WardenConfig(NAME, WORKSPACE, template=TEMPLATE),
    )

    async def arrange() -> None:
        (await runtime.create(SandboxSpec(NAME, WORKSPACE))).unwrap()
        world.sandboxes[NAME.value].login = Login()
        (await runtime.save(NAME, TEMPLATE)).unwrap()
        (await runtime.save(NAME, TEMPLATE.with_tag("prev"))).unwrap()
        if backup:
            backups = Backups(deps, Prober(deps), directory=DIRECTORY)
            (await backups.create()).unwrap()

    clock.run(arrange())

    return Rig(world, clock, runtime, deps)


def finding(report: Report, check: Check) -> Finding:
    return report.finding(check)


def skipped(report: Report) -> set[Check]:
    return {
        f.check for f in report.findings if f.status is CheckStatus.SKIPPED
    }


def test_a_healthy_installation_passes_every_check_in_order() -> None:
    r = rig()

    report = r.diagnose()

    assert [f.check for f in report.findings] == list(Check)
    assert {f.status for f in report.findings} == {CheckStatus.OK}
    assert report.status is CheckStatus.OK
    assert all(f.fix == "" for f in report.findings)


# -- tool -------------------------------------------------------------


def test_tool_docker_without_the_sandbox_plugin_says_exactly_that() -> None:
    r = rig()
    r.world.plugin_present = False

    report = r.diagnose()

    tool = finding(report, Check.TOOL)
    assert tool.status is CheckStatus.FAIL
    assert tool.summary == (
        "the docker client is installed but its sandbox plugin is not: "
        "`docker sandbox` is missing (Docker Desktop 4.58+ ships it, or "
        "install the standalone sbx CLI)"
    )
    assert "Docker Desktop to 4.58" in tool.fix
    assert "sbx CLI" in tool.fix
    assert report.status is CheckStatus.FAIL


def test_tool_missing_sbx_says_it_is_not_installed() -> None:
    r = rig(Tool.SBX, backup=False)
    r.world.plugin_present = False

    tool = finding(r.diagnose(), Check.TOOL)

    assert tool.status is CheckStatus.FAIL
    assert tool.summary.startswith("sbx is not installed or not on PATH")
    assert "install" in tool.fix


def test_without_a_tool_the_checks_that_need_it_are_skipped() -> None:
    r = rig()
    r.world.plugin_present = False

    report = r.diagnose()

    runtime_checks = set(Check) - {Check.TOOL, Check.BACKUP}
    assert skipped(report) == runtime_checks
    assert finding(report, Check.BACKUP).status is CheckStatus.OK
    reasons = {
        f.summary for f in report.findings if f.check in skipped(report)
    }
    assert reasons == {"skipped: the sandbox tool is not installed"}


# -- daemon -----------------------------------------------------------


def test_daemon_down_says_start_docker_desktop() -> None:
    r = rig()
    r.world.daemon_up = False

    report = r.diagnose()

    daemon = finding(report, Check.DAEMON)
    assert daemon.status is CheckStatus.FAIL
    assert daemon.summary == "the sandbox daemon is not running"
    assert daemon.fix.startswith("start Docker Desktop")
    assert finding(report, Check.TOOL).status is CheckStatus.OK
    assert {Check.SANDBOX, Check.LOGIN, Check.PARITY} <= skipped(report)


def test_daemon_down_under_sbx_names_the_sbx_command() -> None:
    r = rig(Tool.SBX, backup=False)
    r.world.daemon_up = False

    daemon = finding(r.diagnose(), Check.DAEMON)

    assert daemon.status is CheckStatus.FAIL
    assert "`sbx daemon start`" in daemon.fix


def test_daemon_wedged_says_restart() -> None:
    r = rig()
    r.world.daemon_wedged = True

    daemon = finding(r.diagnose(), Check.DAEMON)

    assert daemon.status is CheckStatus.FAIL
    assert "restart Docker Desktop" in daemon.fix


# -- image store ------------------------------------------------------


def test_image_store_down_warns_and_skips_the_template() -> None:
    r = rig()
    r.world.image_store_up = False

    report = r.diagnose()

    store = finding(report, Check.IMAGE_STORE)
    assert store.status is CheckStatus.WARN
    assert "templates, backups and restores cannot run" in store.summary
    assert store.fix == "start Docker Desktop"
    assert finding(report, Check.TEMPLATE).status is CheckStatus.SKIPPED
    assert finding(report, Check.LOGIN).status is CheckStatus.OK
    assert report.status is CheckStatus.WARN


# -- sandbox ----------------------------------------------------------


def test_missing_sandbox_with_a_template_fixes_by_heal() -> None:
    r = rig()
    del r.world.sandboxes[NAME.value]

    report = r.diagnose()

    sandbox = finding(report, Check.SANDBOX)
    assert sandbox.status is CheckStatus.FAIL
    assert sandbox.summary == "sandbox 'main' does not exist"
    assert sandbox.fix.startswith("`sandwarden heal`")
    assert (
        "`docker sandbox create --template sandwarden-auth:latest "
        "--name main claude /srv/app`"
    ) in sandbox.fix
    assert {Check.WORKSPACE, Check.LOGIN, Check.BILLING} <= skipped(report)


def test_missing_sandbox_without_a_template_fixes_by_create_and_login() -> (
    None
):
    r = rig()
    del r.world.sandboxes[NAME.value]
    r.world.tags.clear()

    sandbox = finding(r.diagnose(), Check.SANDBOX)

    assert sandbox.fix == (
        "`docker sandbox create --name main claude /srv/app`, then "
        "`sandwarden login`"
    )


def test_missing_sandbox_under_sbx_uses_sbx_syntax() -> None:
    r = rig(Tool.SBX, backup=False)
    del r.world.sandboxes[NAME.value]

    sandbox = finding(r.diagnose(), Check.SANDBOX)

    assert (
        "`sbx create -t sandwarden-auth:latest --name main claude /srv/app`"
        in sandbox.fix
    )


# -- workspace --------------------------------------------------------


def test_workspace_mismatch_names_both_paths() -> None:
    r = rig()
    r.world.sandboxes[NAME.value].workspaces = ["/srv/app-old"]

    report = r.diagnose()

    workspace = finding(report, Check.WORKSPACE)
    assert workspace.status is CheckStatus.FAIL
    assert "mounts /srv/app-old" in workspace.summary
    assert "configured workspace is /srv/app" in workspace.summary
    assert workspace.fix.startswith("recreate it: `docker sandbox rm main`")
    assert "`docker sandbox create --name main claude /srv/app`" in (
        workspace.fix
    )
    assert finding(report, Check.LOGIN).status is CheckStatus.SKIPPED


def test_workspace_listed_through_a_symlink_matches() -> None:
    r = rig()
    r.world.links[WORKSPACE.path] = "/data/app"
    r.world.sandboxes[NAME.value].workspaces = ["/data/app"]

    workspace = finding(r.diagnose(), Check.WORKSPACE)

    assert workspace.status is CheckStatus.OK


# -- login ------------------------------------------------------------


def test_logged_out_sandbox_says_how_to_log_in() -> None:
    r = rig()
    r.world.sandboxes[NAME.value].login = Login(LoginMethod.NONE)

    report = r.diagnose()

    login = finding(report, Check.LOGIN)
    assert login.status is CheckStatus.FAIL
    assert login.summary == "Claude inside 'main' is not logged in"
    assert login.fix == (
        "`sandwarden login`, or by hand: `docker sandbox exec -it main "
        "claude` and run /login"
    )
    assert finding(report, Check.BILLING).status is CheckStatus.SKIPPED


def test_an_expired_login_is_a_login_failure() -> None:
    r = rig()
    login = r.world.sandboxes[NAME.value].login
    login.expires_at = r.clock.time() - 1.0

    found = finding(r.diagnose(), Check.LOGIN)

    assert found.status is CheckStatus.FAIL
    assert "`sandwarden login`" in found.fix


# -- billing ----------------------------------------------------------


def test_api_key_billing_fails_with_the_relogin_fix() -> None:
    r = rig()
    r.world.sandboxes[NAME.value].login = Login(LoginMethod.API_KEY)

    report = r.diagnose()

    billing = finding(report, Check.BILLING)
    assert billing.status is CheckStatus.FAIL
    assert "api_key" in billing.summary.lower()
    assert "`docker sandbox exec main claude auth logout`" in billing.fix
    assert "SANDBOX_ALLOW_API_KEY_AUTH=true" in billing.fix


def test_api_key_billing_allowed_by_the_settings_passes() -> None:
    r = rig()
    r.world.sandboxes[NAME.value].login = Login(LoginMethod.API_KEY)

    billing = finding(r.diagnose(allow_api_key=True), Check.BILLING)

    assert billing.status is CheckStatus.OK
    assert "allowed by SANDBOX_ALLOW_API_KEY_AUTH" in billing.summary


# -- parity -----------------------------------------------------------


def test_parity_drift_warns_with_the_heal_and_pull_fixes() -> None:
    r = rig()
    r.world.sandboxes[NAME.value].heads[WORKSPACE.path] = "ab" * 20

    report = r.diagnose()

    parity = finding(report, Check.PARITY)
    assert parity.status is CheckStatus.WARN
    assert "differs from sandbox HEAD abababa" in parity.summary
    assert "`sandwarden heal`" in parity.fix
    assert "`git -C /srv/app pull`" in parity.fix


def test_parity_drift_fails_when_parity_is_required() -> None:
    r = rig()
    r.world.sandboxes[NAME.value].heads[WORKSPACE.path] = "ab" * 20

    parity = finding(r.diagnose(check_parity=True), Check.PARITY)

    assert parity.status is CheckStatus.FAIL


def test_parity_of_a_workspace_without_git_is_informational() -> None:
    r = rig()
    r.world.host_heads[WORKSPACE.path] = None
    r.world.sandboxes[NAME.value].heads[WORKSPACE.path] = None

    report = r.diagnose()

    parity = finding(report, Check.PARITY)
    assert parity.status is CheckStatus.SKIPPED
    assert "is not a git repository" in parity.summary
    assert report.status is CheckStatus.OK


def test_parity_service_compares_host_and_sandbox_heads() -> None:
    r = rig()
    r.world.sandboxes[NAME.value].heads[WORKSPACE.path] = "ab" * 20

    parity = r.clock.run(r.doctor().parity())

    assert parity.verdict is ParityVerdict.DRIFT
    assert (parity.host, parity.sandbox) == (HEAD, "ab" * 20)


# -- template ---------------------------------------------------------


def test_missing_template_says_save_one() -> None:
    r = rig()
    r.world.tags.clear()

    template = finding(r.diagnose(), Check.TEMPLATE)

    assert template.status is CheckStatus.WARN
    assert "sandwarden-auth:latest is not in the image store" in (
        template.summary
    )
    assert template.fix.startswith("`sandwarden template save`")


def test_template_without_prev_is_fine_and_says_so() -> None:
    r = rig()
    del r.world.tags["sandwarden-auth:prev"]

    template = finding(r.diagnose(), Check.TEMPLATE)

    assert template.status is CheckStatus.OK
    assert "no sandwarden-auth:prev yet" in template.summary


def test_no_configured_template_warns_with_the_setting() -> None:
    r = rig()

    template = finding(r.diagnose(template=None), Check.TEMPLATE)

    assert template.status is CheckStatus.WARN
    assert "SANDBOX_SELF_HEAL_TEMPLATE" in template.fix


# -- backup -----------------------------------------------------------


def test_no_backup_warns_with_the_backup_command() -> None:
    r = rig(backup=False)

    backup = finding(r.diagnose(), Check.BACKUP)

    assert backup.status is CheckStatus.WARN
    assert backup.summary.startswith(f"there is no backup in {DIRECTORY}")
    assert backup.fix == "`sandwarden backup create`"


def test_a_backup_older_than_a_week_warns() -> None:
    r = rig()
    r.wait(8 * DAY)

    backup = finding(r.diagnose(), Check.BACKUP)

    assert backup.status is CheckStatus.WARN
    assert backup.summary.startswith("the newest backup is 8 days old")
    assert backup.fix == "`sandwarden backup create`"


def test_a_recent_backup_passes_with_its_age() -> None:
    r = rig()
    r.wait(2 * 3600.0)

    backup = finding(r.diagnose(), Check.BACKUP)

    assert backup.status is CheckStatus.OK
    assert backup.summary.startswith("the newest backup is 2 hours old")


def test_a_newest_backup_without_manifest_warns() -> None:
    r = rig()
    manifest = next(p for p in r.world.files if p.endswith(".json"))
    del r.world.files[manifest]

    backup = finding(r.diagnose(), Check.BACKUP)

    assert backup.status is CheckStatus.WARN
    assert "cannot be trusted: no manifest" in backup.summary


def test_without_a_backup_directory_the_check_is_skipped() -> None:
    r = rig()
    deps = r.deps

    report = r.clock.run(Doctor(deps, Prober(deps)).diagnose())

    assert finding(report, Check.BACKUP).status is CheckStatus.SKIPPED


# -- the report -------------------------------------------------------


def test_the_report_status_is_the_worst_finding() -> None:
    warn = Finding(Check.BACKUP, CheckStatus.WARN, "old")
    fail = Finding(Check.LOGIN, CheckStatus.FAIL, "logged out")
    fine = Finding(Check.TOOL, CheckStatus.OK, "fine")
    skip = Finding(Check.PARITY, CheckStatus.SKIPPED, "no git")

    assert Report((fine, skip)).status is CheckStatus.OK
    assert Report((fine, warn, skip)).status is CheckStatus.WARN
    assert Report((warn, fail, fine)).status is CheckStatus.FAIL
