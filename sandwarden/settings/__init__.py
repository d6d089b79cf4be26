"""
The operator's configuration: defaults, a TOML file, the environment, flags.

A command-line flag beats the environment, which beats the file, which
beats the default. The environment variables keep the specification's
names (its section 16); the ones it lacks are prefixed ``SANDWARDEN_``.
Nothing here reads ``os.environ``: the caller passes the environment in,
so the only I/O is reading the TOML file.

``spec`` says what a setting is, ``table`` lists them all, ``readers``
reads a value of each kind, and ``loading`` works out the effective
``Settings``.
"""

from __future__ import annotations

from sandwarden.settings.loading import (
    CONFIG_ENV,
    CONFIG_FLAG,
    STATE_SUFFIX,
    Settings,
    config_directory,
    load_settings,
)
from sandwarden.settings.spec import (
    Kind,
    LogLevel,
    Runtime,
    SettingSpec,
    is_secret_name,
    mask,
)
from sandwarden.settings.table import SETTINGS

__all__ = [
    "CONFIG_ENV",
    "CONFIG_FLAG",
    "SETTINGS",
    "STATE_SUFFIX",
    "Kind",
    "LogLevel",
    "Runtime",
    "SettingSpec",
    "Settings",
    "config_directory",
    "is_secret_name",
    "load_settings",
    "mask",
]
