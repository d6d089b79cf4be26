"""
Where alerts go: the ``sandwarden`` logger, or a callback of the embedder.

An alert is for a human, so neither adapter ever raises: a failing
callback is logged with the alert it was given, and the alert is not lost.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine

from sandwarden.ports import Alert, AlertLevel

__all__ = ["CallbackAlerts", "LoggingAlerts", "alert_fields"]

_LOGGER = "sandwarden.alerts"


def alert_fields(alert: Alert) -> dict[str, str]:
    """The alert as ``extra`` fields for a log record."""
    return {
        "sandwarden.level": str(alert.level),
        "sandwarden.code": alert.code,
        "sandwarden.action": alert.action,
        "sandwarden.sandbox": alert.sandbox or "",
    }


def _logging_level(level: AlertLevel) -> int:
    match level:
        case AlertLevel.WARNING:
            return logging.WARNING
        case AlertLevel.ERROR:
            return logging.ERROR


def _line(alert: Alert) -> str:
    line = f"{alert.code}: {alert.message}"
    if alert.action:
        line = f"{line} -- {alert.action}"

    return line


class LoggingAlerts:
    """
    Log each alert at WARNING or ERROR, as its level says.

    The record's message is ``code: message -- action``; the fields are
    in ``extra`` under a ``sandwarden.`` prefix for structured handlers.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger(_LOGGER)

    def alert(self, alert: Alert) -> None:
        """Log one alert."""
        self._logger.log(
            _logging_level(alert.level),
            "%s",
            _line(alert),
            extra=alert_fields(alert),
        )


class CallbackAlerts:
    """
    Hand each alert to a function of the embedder.

    When the function raises, the alert is logged at its own level with
    the traceback, so it still reaches a human. A coroutine function is
    run as a task on the running loop, its failure logged the same way.
    """

    def __init__(
        self,
        callback: Callable[[Alert], object],
        logger: logging.Logger | None = None,
    ) -> None:
        self._callback = callback
        self._logger = logger or logging.getLogger(_LOGGER)
        # The loop keeps only weak references to tasks.
        self._tasks: set[asyncio.Task[object]] = set()

    def alert(self, alert: Alert) -> None:
        """Call the callback; log instead of raising if it fails."""
        try:
            outcome = self._callback(alert)
            if inspect.iscoroutine(outcome):
                self._schedule(outcome, alert)
        except Exception:
            self._fallback(alert)

    def _schedule(
        self,
        coroutine: Coroutine[object, object, object],
        alert: Alert,
    ) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coroutine)
        except RuntimeError:
            coroutine.close()
            raise
        self._tasks.add(task)

        def finished(done: asyncio.Task[object]) -> None:
            self._tasks.discard(done)
            if not done.cancelled() and done.exception() is not None:
                self._fallback(alert, done.exception())

        task.add_done_callback(finished)

    def _fallback(
        self,
        alert: Alert,
        error: BaseException | None = None,
    ) -> None:
        self._logger.log(
            _logging_level(alert.level),
            "alert callback failed; the alert was: %s",
            _line(alert),
            exc_info=error or True,
            extra=alert_fields(alert),
        )
