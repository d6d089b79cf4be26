from __future__ import annotations

from returns.pipeline import is_successful

from sandwarden.domain.errors import ErrorKind, UnavailableReason
from sandwarden.simulator.world import Login, LoginMethod
from tests.service.simrig import PRIMARY, WORKSPACE, add_sandbox, rig


def test_a_logged_in_sandbox_on_the_workspace_probes_healthy() -> None:
    r = rig()

    health = r.run(r.services.prober.probe(PRIMARY))

    assert is_successful(health)
    assert health.unwrap().sandbox == PRIMARY
    assert r.messages("probe") == ["bot is healthy"]


def test_a_missing_sandbox_is_unavailable_not_found() -> None:
    r = rig(primary=False)

    health = r.run(r.services.prober.probe(PRIMARY))

    error = health.failure()
    assert error.kind is ErrorKind.SANDBOX_UNAVAILABLE
    assert error.reason is UnavailableReason.NOT_FOUND
    assert "bot" in error.message


def test_a_sandbox_on_another_path_is_a_mismatch_naming_both() -> None:
    r = rig(primary=False)
    add_sandbox(r.world, PRIMARY.value, workspace="/srv/old")

    health = r.run(r.services.prober.probe(PRIMARY))

    error = health.failure()
    assert error.kind is ErrorKind.WORKSPACE_MISMATCH
    assert "/srv/old" in error.message
    assert WORKSPACE.path in error.message


def test_a_logged_out_sandbox_fails_as_auth() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.NONE)

    health = r.run(r.services.prober.probe(PRIMARY))

    assert health.failure().kind is ErrorKind.AUTH


def test_an_api_key_login_is_refused_by_the_billing_guard() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.API_KEY)

    health = r.run(r.services.prober.probe(PRIMARY))

    assert health.failure().kind is ErrorKind.BILLING_GUARD


def test_an_api_key_login_is_accepted_when_allowed() -> None:
    r = rig(allow_api_key=True)
    r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.API_KEY)

    health = r.run(r.services.prober.probe(PRIMARY))

    assert is_successful(health)


def test_an_old_cli_is_probed_with_the_plain_status() -> None:
    r = rig()
    r.world.sandboxes[PRIMARY.value].claude.auth_json = False

    health = r.run(r.services.prober.probe(PRIMARY))

    assert is_successful(health)
    runs = [e.what for e in r.world.events if ": claude auth status" in e.what]
    assert runs[-1].endswith(": claude auth status")


def test_parity_drift_fails_only_when_parity_is_checked() -> None:
    r = rig(check_parity=True)
    r.world.host_heads[WORKSPACE.path] = "b" * 40

    checked = r.run(r.services.prober.probe(PRIMARY))
    unchecked = r.run(r.services.prober.probe(PRIMARY, parity=False))

    assert checked.failure().kind is ErrorKind.PARITY_MISMATCH
    assert is_successful(unchecked)


def test_a_workspace_that_is_no_repository_is_not_a_parity_failure() -> None:
    r = rig(check_parity=True)
    r.world.host_heads[WORKSPACE.path] = None
    r.world.sandboxes[PRIMARY.value].heads[WORKSPACE.path] = None

    health = r.run(r.services.prober.probe(PRIMARY))

    assert is_successful(health)


def test_a_healthy_answer_is_cached_briefly_then_probed_again() -> None:
    r = rig(probe_cache=30.0)

    async def scenario() -> list[int]:
        prober = r.services.prober
        counts = []
        await prober.cached(PRIMARY)
        counts.append(len(r.messages("probe")))
        await r.clock.sleep(10)
        await prober.cached(PRIMARY)
        counts.append(len(r.messages("probe")))
        await r.clock.sleep(30)
        await prober.cached(PRIMARY)
        counts.append(len(r.messages("probe")))
        return counts

    assert r.run(scenario()) == [1, 1, 2]


def test_a_failure_drops_the_cached_answer() -> None:
    r = rig(probe_cache=300.0)

    async def scenario() -> bool:
        prober = r.services.prober
        await prober.cached(PRIMARY)
        r.world.sandboxes[PRIMARY.value].login = Login(LoginMethod.NONE)
        await prober.probe(PRIMARY)
        r.world.sandboxes[PRIMARY.value].login = Login()
        before = len(r.messages("probe"))
        await prober.cached(PRIMARY)
        return len(r.messages("probe")) > before

    assert r.run(scenario())


def test_a_daemon_down_is_unavailable_daemon_down() -> None:
    r = rig()
    r.world.daemon_up = False

    health = r.run(r.services.prober.probe(PRIMARY))

    assert health.failure().reason is UnavailableReason.DAEMON_DOWN
