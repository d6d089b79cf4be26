"""
Claude's login, as `claude auth status` reports it, and the billing guard.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AuthStatus"]


@dataclass(frozen=True, slots=True)
class AuthStatus:
    """
    What `claude auth status` said about the login inside a sandbox.

    ``logged_in`` means a credential is configured, not that it works;
    a dead token shows up as an auth failure of the next run.
    """

    logged_in: bool
    auth_method: str | None = None
    api_provider: str | None = None
    api_key_source: str | None = None
    email: str | None = None
    org_name: str | None = None
    subscription_type: str | None = None
