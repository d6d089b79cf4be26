"""
The ``SandboxRuntime`` port on `sbx`, the standalone Docker Sandboxes CLI.

Same port, other tool. What differs from the plugin:

- names: at least two characters, a letter or digit first, then letters,
  digits, `-` and `.` only, and not ``default``; refused before anything
  runs (the plugin's `_` and `+` are not allowed here).
- commands that would ask a question get `-f` (`rm -f`) and every tool
  call reads /dev/null, so a prompt fails instead of hanging.
- templates live in sbx's own image store: `template save/load/ls`.
  `template save` refuses a running sandbox (or prompts for a terminal),
  so ``save`` stops the sandbox first. sbx has no command to tag an
  image or export a stored one; ``capabilities()`` says so and those
  calls fail as ``unsupported``. ``save_to_tar`` (`template save -o`)
  snapshots into the store and a tar at once: that is how a template
  is backed up under sbx.
- Claude's credential lives on the host and a proxy injects it; see
  ``SbxCli.auth_status`` for what the probe trusts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from returns.pipeline import is_successful
from returns.result import Failure, Result, Success

from sandwarden.adapters.docker_sandbox import SandboxCli, tar_tags
from sandwarden.adapters.process import ToolOutput
from sandwarden.adapters.tool_output import (
    StoredCredential,
    parse_sbx_version,
    parse_secrets,
    parse_templates,
)
from sandwarden.domain.auth import AuthStatus
from sandwarden.domain.classify import Context
from sandwarden.domain.deadlines import Limits
from sandwarden.domain.errors import ErrorKind, WardenError
from sandwarden.domain.invocation import Dialect
from sandwarden.domain.sandbox import Capabilities, Operation, SandboxSpec
from sandwarden.domain.values import ImageTag, SandboxName, Workspace

__all__ = ["SBX_OPERATIONS", "SbxCli"]

# sbx's documented rule (docs `sbx_create.yaml`, newest): "at least two
# characters, starting with a letter or number, containing only letters,
# numbers, hyphens and periods"; "default" is reserved.
_SBX_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]+")
_RESERVED = frozenset({"default"})
# The sbx service whose secret is Claude's credential.
_SERVICE = "anthropic"

#: What sbx offers: no image tag, no export of a stored template (a
#: template is written to a tar as it is saved: ``SAVE_TO_TAR``).
SBX_OPERATIONS = frozenset(Operation) - {
    Operation.IMAGE_TAG,
    Operation.IMAGE_EXPORT,
}


class SbxCli(SandboxCli):
    """The `sbx` CLI (v0.2x onward)."""

    dialect = Dialect.SBX
    default_tool = "sbx"

    def check_name(
        self,
        name: SandboxName,
    ) -> Result[SandboxName, WardenError]:
        """Refuse `_`, `+`, one-character names and ``default``."""
        if name.value in _RESERVED or not _SBX_NAME.fullmatch(name.value):
            return Failure(
                WardenError.invalid(
                    f"sandbox name {name.value!r} is not allowed by sbx; "
                    "expected at least two characters, a letter or digit "
                    "first, then letters, digits, '-' or '.' (no '_' or "
                    "'+'), and not 'default'",
                ),
            )

        return Success(name)

    def parse_version(self, text: str) -> Result[str, WardenError]:
        """Read `sbx version` in either text form."""
        return parse_sbx_version(text)

    async def capabilities(self) -> Result[Capabilities, WardenError]:
        """sbx's version, and whether its template store answers."""
        version = await self.version()
        if not is_successful(version):
            return Failure(version.failure())
        store = await self.templates()

        return Success(
            Capabilities(
                tool="sbx",
                version=version.unwrap(),
                image_store=is_successful(store),
                operations=SBX_OPERATIONS,
            ),
        )

    async def create_with_tool(
        self,
        spec: SandboxSpec,
    ) -> Result[ToolOutput, WardenError]:
        """
        `create --name N [-t T] AGENT WORKSPACE`.

        No `--pull`: sbx defaults to `never` for a saved local template,
        and older releases lack the flag.
        """
        template = ("-t", str(spec.template)) if spec.template else ()

        return await self.call(
            (
                "create",
                "--name",
                spec.name.value,
                *template,
                spec.agent,
                spec.workspace.path,
            ),
            Context.TOOL,
            self._timeouts.change,
        )

    def remove_args(self, name: SandboxName) -> tuple[str, ...]:
        """`rm -f NAME`: without `-f` sbx asks for confirmation."""
        return ("rm", "-f", name.value)

    async def save(
        self,
        name: SandboxName,
        tag: ImageTag,
    ) -> Result[None, WardenError]:
        """
        Stop the sandbox, then `template save NAME TAG` into sbx's store.

        sbx saves only a stopped sandbox; the sandbox stays stopped, and
        the next exec starts it again.
        """
        return await self._save(name, tag, ())

    async def save_to_tar(
        self,
        name: SandboxName,
        tag: ImageTag,
        path: str,
    ) -> Result[None, WardenError]:
        """Stop, then `template save NAME TAG -o PATH` (store and tar)."""
        return await self._save(name, tag, ("-o", path))

    async def _save(
        self,
        name: SandboxName,
        tag: ImageTag,
        extra: tuple[str, ...],
    ) -> Result[None, WardenError]:
        stopped = await self.stop(name)
        if not is_successful(stopped):
            return stopped

        return (
            await self.call(
                ("template", "save", name.value, str(tag), *extra),
                Context.IMAGE,
                self._timeouts.image,
            )
        ).map(lambda _: None)

    async def templates(self) -> Result[tuple[ImageTag, ...], WardenError]:
        """The tags in sbx's template store."""
        return (
            await self.call(
                ("template", "ls"), Context.IMAGE, self._timeouts.query
            )
        ).bind(lambda out: parse_templates(_text(out.stdout)))

    async def image_exists(self, tag: ImageTag) -> Result[bool, WardenError]:
        """Whether `template ls` lists ``tag`` (also as docker.io/library)."""
        names = {str(tag), f"docker.io/library/{tag}"}

        return (await self.templates()).map(
            lambda tags: any(str(listed) in names for listed in tags)
        )

    async def image_tag(
        self,
        source: ImageTag,
        target: ImageTag,
    ) -> Result[None, WardenError]:
        """sbx cannot tag an image: see ``capabilities()``."""
        return Failure(_unsupported("tag an image", "Operation.IMAGE_TAG"))

    async def image_export(
        self,
        tag: ImageTag,
        path: str,
    ) -> Result[None, WardenError]:
        """sbx cannot export a stored template: see ``save_to_tar``."""
        return Failure(
            _unsupported("export a stored template", "Operation.IMAGE_EXPORT")
        )

    async def image_load(
        self,
        path: str,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Result[tuple[ImageTag, ...], WardenError]:
        """
        `template load PATH`; the tags come from the tar's manifest.

        sbx reads the file itself (it is not documented to read stdin),
        so ``progress`` cannot be told how far it got and is not called.
        """
        loaded = await self.call(
            ("template", "load", path), Context.IMAGE, self._timeouts.image
        )

        return loaded.map(lambda _: tar_tags(path))

    async def auth_status(
        self,
        name: SandboxName,
        workdir: Workspace,
        limits: Limits,
    ) -> Result[AuthStatus, WardenError]:
        """
        Claude's login under sbx: the host secret, checked from inside.

        What is trusted, and why (sbx reference §4, §7): the credential
        lives on the host (`sbx secret`) and a proxy injects it; inside
        the sandbox `~/.claude/.credentials.json` holds only
        ``proxy-managed`` sentinels, so `claude auth status` there shows
        a configured login whether or not the host holds a real one, and
        may call the sentinel an API key. Hence:

        1. `claude auth status` inside must answer: it proves that the
           sandbox runs, the workspace is right and the CLI is there, and
           its account fields (email, organisation, plan) and a
           non-first-party provider are kept;
        2. `sbx secret ls --service anthropic --json` decides whether a
           credential is stored: a non-empty ``secrets`` list (the
           reference's check, sbx-kits-contrib ``tck/e2e.go``);
        3. its kind comes from the table of the same command:
           ``(oauth configured)`` is a /login token, anything else an API
           key, so the billing guard fails closed;
        4. only an sbx that does not know the command or an option (an
           sbx before `--json` is read from its table) leaves the inside
           answer as all there is. Any other failure of the secret list
           (daemon down or wedged) is the probe's failure.

        Neither says the token still works: the next run's auth error
        does.
        """
        inside = await super().auth_status(name, workdir, limits)
        if not is_successful(inside):
            return inside
        stored = await self.stored_credential()
        if not is_successful(stored):
            return Failure(stored.failure())
        credential = stored.unwrap()
        if credential is None:
            return inside

        return Success(_combine(credential, inside.unwrap()))

    async def stored_credential(
        self,
    ) -> Result[StoredCredential | None, WardenError]:
        """
        The Claude credential sbx holds on the host, if any.

        None when this sbx cannot say (it lacks `secret ls`, or
        `--service`); a failure for anything else.
        """
        listed = await self._secrets(("--json",))
        if _unknown_to_sbx(listed):
            # Before `--json` (about v0.42): the table is all there is.
            table = await self._secrets(())
            if _unknown_to_sbx(table):
                return Success(None)
            return table
        if not is_successful(listed) or not listed.unwrap().stored:
            return listed
        table = await self._secrets(())
        if _unknown_to_sbx(table):
            return listed
        if not is_successful(table):
            return Failure(table.failure())

        return Success(replace(listed.unwrap(), oauth=table.unwrap().oauth))

    async def _secrets(
        self,
        flags: tuple[str, ...],
    ) -> Result[StoredCredential, WardenError]:
        return (
            await self.call(
                ("secret", "ls", "--service", _SERVICE, *flags),
                Context.TOOL,
                self._timeouts.query,
            )
        ).bind(lambda out: parse_secrets(_text(out.stdout), _SERVICE))


def _unknown_to_sbx(answer: Result[object, WardenError]) -> bool:
    """Whether sbx said it does not know the command or an option."""
    return not is_successful(answer) and answer.failure().kind in {
        ErrorKind.UNSUPPORTED_OPTION,
        ErrorKind.UNSUPPORTED,
    }


def _combine(stored: StoredCredential, inside: AuthStatus) -> AuthStatus:
    if not stored.stored:
        return AuthStatus(
            logged_in=False,
            auth_method="none",
            api_provider=inside.api_provider,
        )
    first_party = inside.api_provider in {None, "firstParty"}
    if stored.oauth:
        method, source = "claude.ai", None
    else:
        method, source = "api_key", "sbx secret anthropic"

    return AuthStatus(
        logged_in=True,
        auth_method=method if first_party else inside.auth_method,
        api_provider=inside.api_provider,
        api_key_source=source,
        email=inside.email,
        org_name=inside.org_name,
        subscription_type=inside.subscription_type,
    )


def _unsupported(what: str, operation: str) -> WardenError:
    return WardenError(
        ErrorKind.UNSUPPORTED,
        f"sbx has no command to {what}; `capabilities()` leaves out "
        f"{operation}",
    )


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
