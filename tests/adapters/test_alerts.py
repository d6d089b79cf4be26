from __future__ import annotations

import asyncio
import logging

import pytest

from sandwarden.adapters.alerts import CallbackAlerts, LoggingAlerts
from sandwarden.ports import Alert, AlertLevel

RELOGIN = Alert(
    AlertLevel.ERROR,
    "auth",
    "sandbox box is logged out",
    action="run: sandwarden login",
    sandbox="box",
)
BREAKER = Alert(AlertLevel.WARNING, "breaker_open", "3 heals failed")


def test_alerts_are_logged_at_their_level_with_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    alerts = LoggingAlerts()

    with caplog.at_level(logging.WARNING, logger="sandwarden"):
        alerts.alert(RELOGIN)
        alerts.alert(BREAKER)

    error, warning = caplog.records
    assert error.levelno == logging.ERROR
    assert error.name.startswith("sandwarden")
    assert error.getMessage() == (
        "auth: sandbox box is logged out -- run: sandwarden login"
    )
    assert error.__dict__["sandwarden.code"] == "auth"
    assert error.__dict__["sandwarden.sandbox"] == "box"
    assert error.__dict__["sandwarden.action"] == "run: sandwarden login"
    assert warning.levelno == logging.WARNING
    assert warning.getMessage() == "breaker_open: 3 heals failed"


def test_the_callback_receives_each_alert() -> None:
    received: list[Alert] = []
    alerts = CallbackAlerts(received.append)

    alerts.alert(RELOGIN)
    alerts.alert(BREAKER)

    assert received == [RELOGIN, BREAKER]


def test_a_raising_callback_is_logged_with_the_alert_and_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(alert: Alert) -> None:
        raise ConnectionError("pager is down")

    alerts = CallbackAlerts(broken)

    with caplog.at_level(logging.WARNING, logger="sandwarden"):
        alerts.alert(RELOGIN)

    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert "sandbox box is logged out" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ConnectionError)


def test_a_coroutine_callback_runs_and_its_failure_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    received: list[Alert] = []

    async def page(alert: Alert) -> None:
        received.append(alert)
        if alert.level is AlertLevel.ERROR:
            raise TimeoutError("pager slow")

    async def main() -> None:
        alerts = CallbackAlerts(page)
        alerts.alert(BREAKER)
        alerts.alert(RELOGIN)
        for _ in range(3):
            await asyncio.sleep(0)

    with caplog.at_level(logging.WARNING, logger="sandwarden"):
        asyncio.run(main())

    assert received == [BREAKER, RELOGIN]
    (record,) = caplog.records
    assert "sandbox box is logged out" in record.getMessage()


def test_a_coroutine_callback_without_a_loop_is_logged_instead(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def page(alert: Alert) -> None:
        raise AssertionError("never runs")

    alerts = CallbackAlerts(page)

    with caplog.at_level(logging.WARNING, logger="sandwarden"):
        alerts.alert(BREAKER)

    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert "3 heals failed" in record.getMessage()
