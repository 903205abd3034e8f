"""Which stack an operator command talks to: the running local stack, or a deployed one.

By default the local stack (`commerce-hub local`): its emulator on 127.0.0.1:$HUB_AWS_PORT, with
the emulator's dummy credentials. With `--stack-name` a deployed stack: credentials, profile and
region come from the usual AWS settings (`--profile`, `--region`, AWS_PROFILE, AWS_REGION...), and
what they leave unset from samconfig.toml (`--config-env`, default `default`), as `sam deploy` reads
it. Either way the stack's own resources are read from CloudFormation, so commands name the queues,
table, bus and archive template.yaml declares, never a second list (the local stack creates its
resources in the emulator's CloudFormation, under `commerce-hub-local`).
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Target", "TargetError", "add_target_arguments", "project_root", "target_from"]

DEFAULT_AWS_PORT = 4566
SAMCONFIG = "samconfig.toml"


class TargetError(Exception):
    """The stack cannot be reached or read; the message says what to do."""


@dataclass
class Target:
    """A stack and the clients to reach it."""

    stack_name: str
    local: bool
    session: Any  # boto3.session.Session
    endpoint_url: str | None = None
    _resources: dict[str, tuple[str, str]] | None = field(default=None, repr=False)

    def describe(self) -> str:
        if self.local:
            return f"the local stack ({self.endpoint_url})"
        return f"stack {self.stack_name} in {self.session.region_name}"

    def client(self, service: str) -> Any:
        from botocore.config import Config

        config = Config(retries={"max_attempts": 3, "mode": "standard"})
        return self.session.client(service, endpoint_url=self.endpoint_url, config=config)

    def resources(self) -> dict[str, tuple[str, str]]:
        """logical id -> (resource type, physical id), read once from CloudFormation."""
        if self._resources is None:
            from botocore.exceptions import BotoCoreError, ClientError

            found: dict[str, tuple[str, str]] = {}
            try:
                pages = self.client("cloudformation").get_paginator("list_stack_resources")
                for page in pages.paginate(StackName=self.stack_name):
                    for summary in page["StackResourceSummaries"]:
                        found[summary["LogicalResourceId"]] = (
                            summary["ResourceType"],
                            summary.get("PhysicalResourceId", ""),
                        )
            except ClientError as exc:
                raise TargetError(f"cannot read {self.describe()}: {exc}") from exc
            except BotoCoreError as exc:
                hint = " Is it running (`commerce-hub local`)?" if self.local else ""
                raise TargetError(f"cannot reach {self.describe()}: {exc}.{hint}") from exc
            self._resources = found
        return self._resources

    def physical_id(self, logical_id: str) -> str:
        try:
            return self.resources()[logical_id][1]
        except KeyError:
            raise TargetError(f"{self.describe()} has no resource {logical_id}") from None

    def of_type(self, resource_type: str) -> dict[str, str]:
        """logical id -> physical id of every resource of one type."""
        return {lid: pid for lid, (kind, pid) in self.resources().items() if kind == resource_type and pid}


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("which stack (default: the running local stack)")
    where.add_argument(
        "--stack-name",
        nargs="?",
        const="",
        default=None,
        help="a deployed stack; without a value, the stack_name of samconfig.toml",
    )
    where.add_argument("--profile", help="AWS profile of the deployed stack (default: the usual AWS settings)")
    where.add_argument("--region", help="AWS region of the deployed stack (default: AWS settings, then samconfig.toml)")
    where.add_argument("--config-env", default="default", help="samconfig.toml environment to read (default: default)")


def project_root() -> Path:
    """The project folder above the current one (where samconfig.toml is), else the current one."""
    from commerce_hub.local.errors import LocalStackError
    from commerce_hub.local.template import find_project_root

    try:
        return find_project_root()
    except LocalStackError:
        return Path.cwd()


def _samconfig(root: Path, config_env: str) -> dict[str, Any]:
    """The deploy parameters of one samconfig.toml environment, its global parameters beneath them."""
    path = root / SAMCONFIG
    if not path.is_file():
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TargetError(f"cannot read {path}: {exc}") from exc
    section = document.get(config_env, {})
    return {**section.get("global", {}).get("parameters", {}), **section.get("deploy", {}).get("parameters", {})}


def target_from(args: argparse.Namespace, *, root: Path, environ: Mapping[str, str] | None = None) -> Target:
    import boto3

    env = os.environ if environ is None else environ
    if getattr(args, "stack_name", None) is None:
        from commerce_hub.local.emulator import DUMMY_CREDENTIALS, REGION
        from commerce_hub.local.provision import STACK_NAME

        if args.profile or args.region:
            raise TargetError("--profile and --region name a deployed stack: pass --stack-name as well")
        port = env.get("HUB_AWS_PORT") or str(DEFAULT_AWS_PORT)
        session = boto3.session.Session(
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=REGION,
        )
        return Target(STACK_NAME, True, session, endpoint_url=f"http://127.0.0.1:{port}")

    samconfig = _samconfig(root, args.config_env)
    stack_name = args.stack_name or samconfig.get("stack_name")
    if not stack_name:
        raise TargetError(f"--stack-name has no value and {root / SAMCONFIG} names no stack_name")
    profile = args.profile or samconfig.get("profile") or None
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.session.Session(profile_name=profile)
        region = args.region or session.region_name or samconfig.get("region")
        if not region:
            raise TargetError("no AWS region: pass --region, set AWS_REGION, or set region in samconfig.toml")
        if region != session.region_name:
            session = boto3.session.Session(profile_name=profile, region_name=region)
    except BotoCoreError as exc:  # ProfileNotFound and friends
        raise TargetError(f"cannot use AWS profile {profile!r}: {exc}") from exc
    return Target(str(stack_name), False, session)
