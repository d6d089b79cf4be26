"""The doctor's login fixes name the sandbox that needs the login."""

from __future__ import annotations

from sandwarden.domain.sandbox import SandboxSpec
from sandwarden.domain.values import SandboxName
from sandwarden.service.doctor import Check, CheckStatus, Report
from sandwarden.simulator.world import Login, LoginMethod
from tests.service.test_doctor import WORKSPACE, Rig, finding, rig

HEAL = SandboxName("main-heal")


def _heal_sandbox_active(login: Login) -> Rig:
    r = rig()

    async def arrange() -> None:
        spec = SandboxSpec(HEAL, WORKSPACE)
        (await r.runtime.create(spec)).unwrap()
        r.world.sandboxes[HEAL.value].login = login
        (await r.deps.store.set_active_sandbox(HEAL)).unwrap()

    r.clock.run(arrange())

    return r


def _fix_of(report: Report, check: Check) -> str:
    found = finding(report, check)
    assert found.status is CheckStatus.FAIL

    return found.fix


def test_a_logged_out_heal_sandbox_is_logged_in_with_its_name() -> None:
    r = _heal_sandbox_active(Login(LoginMethod.NONE))

    fix = _fix_of(r.diagnose(), Check.LOGIN)

    assert fix.startswith("`sandwarden login --sandbox main-heal`, ")
    assert "exec -it main-heal claude" in fix


def test_the_billing_fix_of_a_heal_sandbox_names_it() -> None:
    r = _heal_sandbox_active(Login(LoginMethod.API_KEY))

    report = r.diagnose()

    billing = finding(report, Check.BILLING)
    assert "`sandwarden login --sandbox main-heal`" in billing.fix
    assert "`sandwarden login --sandbox main-heal`" in billing.summary
    assert "`sandwarden login`" not in billing.fix + billing.summary
