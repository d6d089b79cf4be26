"""
Every setting the warden reads, with its names, default and meaning.
"""

from __future__ import annotations

from sandwarden.settings.spec import Kind, SettingSpec

__all__ = ["SETTINGS"]


def _ms(attr: str, env: str, default: int, meaning: str) -> SettingSpec:
    return SettingSpec(
        attr,
        f"{attr}_ms",
        env,
        Kind.MILLISECONDS,
        str(default),
        meaning,
    )


#: Every setting, in the order `sandwarden config` shows them.
SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "sandbox",
        "sandbox",
        "CLAUDE_SANDBOX_NAME",
        Kind.NAME,
        "sandwarden",
        "the primary sandbox",
        flag="--sandbox",
    ),
    SettingSpec(
        "workspace",
        "workspace",
        "BOT_RUNTIME_DIR",
        Kind.WORKSPACE,
        "{cwd}",
        "host directory mounted in the sandbox (same at create and exec)",
        flag="--workspace",
    ),
    SettingSpec(
        "runtime",
        "runtime",
        "SANDWARDEN_RUNTIME",
        Kind.RUNTIME,
        "docker",
        "sandbox tool: docker (plugin), sbx, or sim (simulator)",
        flag="--runtime",
    ),
    SettingSpec(
        "docker",
        "docker",
        "SANDWARDEN_DOCKER",
        Kind.PROGRAM,
        "docker",
        "the docker executable (a name is looked up on PATH)",
        flag="--docker",
    ),
    SettingSpec(
        "sbx",
        "sbx",
        "SANDWARDEN_SBX",
        Kind.PROGRAM,
        "sbx",
        "the sbx executable (a name is looked up on PATH)",
        flag="--sbx",
    ),
    _ms(
        "probe_timeout",
        "SANDBOX_PROBE_TIMEOUT_MS",
        30_000,
        "hard limit of an auth probe",
    ),
    _ms(
        "prompt_timeout",
        "SANDBOX_PROMPT_TIMEOUT_MS",
        3_600_000,
        "hard limit of a new prompt",
    ),
    _ms(
        "resume_timeout",
        "SANDBOX_RESUME_TIMEOUT_MS",
        3_600_000,
        "hard limit of a resumed prompt",
    ),
    _ms(
        "prompt_inactivity_timeout",
        "SANDBOX_PROMPT_INACTIVITY_TIMEOUT_MS",
        600_000,
        "silence after which a new prompt counts as stalled",
    ),
    _ms(
        "resume_inactivity_timeout",
        "SANDBOX_RESUME_INACTIVITY_TIMEOUT_MS",
        600_000,
        "silence after which a resumed prompt counts as stalled",
    ),
    _ms(
        "tool_timeout",
        "SANDWARDEN_TOOL_TIMEOUT_MS",
        # create may pull the base image on first use: minutes, not seconds
        180_000,
        "deadline of create, rm and stop (questions such as ls and "
        "version: at most 20 s, never more than the probe timeout)",
    ),
    _ms(
        "grace",
        "SANDWARDEN_GRACE_MS",
        5_000,
        "wait between TERM and KILL when stopping a run",
    ),
    SettingSpec(
        "probe_cache",
        "probe_cache_ms",
        "SANDWARDEN_PROBE_CACHE_MS",
        Kind.MILLISECONDS_OR_ZERO,
        "30000",
        "how long a healthy probe is trusted (0: probe every turn)",
    ),
    SettingSpec(
        "model",
        "model",
        "SANDBOX_CLAUDE_MODEL",
        Kind.TEXT,
        None,
        "model override (unset: the account's default)",
        flag="--model",
    ),
    SettingSpec(
        "system_prompt",
        "system_prompt",
        "SANDWARDEN_SYSTEM_PROMPT",
        Kind.TEXT,
        None,
        "text appended to Claude's system prompt",
    ),
    SettingSpec(
        "allow_api_key_auth",
        "allow_api_key_auth",
        "SANDBOX_ALLOW_API_KEY_AUTH",
        Kind.BOOLEAN,
        "false",
        "accept API-key or third-party billing instead of the login",
        flag="--allow-api-key-auth",
    ),
    SettingSpec(
        "self_heal",
        "self_heal",
        "SANDBOX_SELF_HEAL",
        Kind.BOOLEAN,
        "true",
        "recover a broken sandbox automatically",
        flag="--self-heal",
    ),
    SettingSpec(
        "template",
        "template",
        "SANDBOX_SELF_HEAL_TEMPLATE",
        Kind.IMAGE,
        "sandwarden-auth:latest",
        "authenticated template image used to heal",
        flag="--template",
    ),
    SettingSpec(
        "self_heal_max_attempts",
        "self_heal_max_attempts",
        "SANDBOX_SELF_HEAL_MAX_ATTEMPTS",
        Kind.COUNT,
        "3",
        "failed heals in the window that open the breaker",
    ),
    _ms(
        "self_heal_window",
        "SANDBOX_SELF_HEAL_WINDOW_MS",
        900_000,
        "the breaker's sliding window",
    ),
    _ms(
        "heal_lock_ttl",
        "SANDWARDEN_HEAL_LOCK_TTL_MS",
        900_000,
        "how long a heal holds the cross-process lock before it lapses",
    ),
    SettingSpec(
        "watchdog_enabled",
        "watchdog_enabled",
        "SANDBOX_HEALTH_WATCHDOG_ENABLED",
        Kind.BOOLEAN,
        "true",
        "probe the active sandbox in the background",
    ),
    _ms(
        "watchdog_interval",
        "SANDBOX_HEALTH_WATCHDOG_INTERVAL_MS",
        300_000,
        "time between two watchdog probes",
    ),
    SettingSpec(
        "parity",
        "parity",
        "SANDWARDEN_PARITY",
        Kind.BOOLEAN,
        "false",
        "compare host and sandbox git HEAD when probing",
        flag="--parity",
    ),
    SettingSpec(
        "backup_dir",
        "backup_dir",
        "SANDBOX_TEMPLATE_BACKUP_DIR",
        Kind.PATH,
        "{config}/templates",
        "where template backups (tar files) are kept",
        flag="--backup-dir",
    ),
    SettingSpec(
        "backup_keep",
        "backup_keep",
        "SANDBOX_TEMPLATE_BACKUP_KEEP",
        Kind.COUNT,
        "14",
        "timestamped backups kept by rotation",
    ),
    SettingSpec(
        "state_dir",
        "state_dir",
        "SANDWARDEN_STATE_DIR",
        Kind.PATH,
        "{config}",
        "directory of the state databases, one per sandbox name",
        flag="--state-dir",
    ),
    SettingSpec(
        "heal_history_keep",
        "heal_history_keep",
        "SANDWARDEN_HEAL_HISTORY_KEEP",
        Kind.COUNT,
        "200",
        "heal records kept in the state database",
    ),
    SettingSpec(
        "log_level",
        "log_level",
        "SANDWARDEN_LOG_LEVEL",
        Kind.LOG_LEVEL,
        "info",
        "what the command line logs to stderr",
        flag="--log-level",
    ),
)
