"""The whole local stack, in one object: emulator, resources, functions, HTTP API, pollers, schedules.

    with LocalStack(project_root, http_port=0, aws_port=0) as stack:
        httpx.get(f"{stack.url}/health")

`start()` returns once `GET /health` would answer 200; `stop()` (or leaving the `with` block)
shuts everything down in the reverse order. Ports 0 pick free ports. State lives in the emulator
for the life of the object. `commerce-hub local` is a thin wrapper around this class.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from .apigw import Route, routes_from_openapi
from .calls import CALLS_PATH, EVENT_SOURCE_MAPPING, RESET_PATH, SCHEDULER
from .console import Console
from .emulator import ACCOUNT_ID, REGION, Emulator, aws_client
from .errors import LocalStackError
from .functions import FunctionPool, FunctionSpec, Invocation, function_specs, worker_environment
from .intrinsics import Resolver
from .keys import local_signing_keys
from .provision import (
    CONFIG_PARAMETER,
    LOCAL_API_ID,
    STACK_NAME,
    StackResources,
    create_schedule_groups,
    create_stack,
    put_config_parameter,
    put_console_secret,
    put_secrets,
    read_config,
    verify_sender,
)
from .runtime_schedules import SchedulePoller
from .schedule_journal import CHANGES_PATH
from .schedules import Scheduler, ScheduleSpec, scheduled_event, schedules_of
from .secrets import SECRETS_PREFIX, channel_secret_keys, local_secrets
from .server import ApiServer, Gateway
from .sqs import EventSource, Poller, event_sources
from .template import SamTemplate, find_project_root, load_template, read_source

__all__ = ["LocalStack"]

DEFAULT_HTTP_PORT = 3000
DEFAULT_AWS_PORT = 4566
LOCAL_STAGE = "dev"


def _seconds_setting(environ: Mapping[str, str], name: str) -> float | None:
    raw = environ.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise LocalStackError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not value >= 0:  # also refuses nan
        raise LocalStackError(f"{name} must not be negative, got {raw}")
    return value


def _int_setting(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LocalStackError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise LocalStackError(f"{name} must not be negative, got {value}")
    return value


class LocalStack:
    """Runs template.yaml on this machine (see the module docstring)."""

    def __init__(
        self,
        project_root: str | Path | None = None,
        *,
        http_port: int | None = None,
        aws_port: int | None = None,
        env: Mapping[str, str] | None = None,
        verbose: bool = False,
        pool_size: int | None = None,
        function_env: Mapping[str, str] | None = None,
        console: Console | None = None,
    ) -> None:
        self.env: dict[str, str] = dict(os.environ if env is None else env)
        if project_root is None:
            self.root = find_project_root()
        else:
            self.root = Path(project_root).resolve()
            find_project_root(self.root)  # fails clearly when there is no template.yaml
        self.http_port = _int_setting(self.env, "HUB_PORT", DEFAULT_HTTP_PORT) if http_port is None else http_port
        self.aws_port = _int_setting(self.env, "HUB_AWS_PORT", DEFAULT_AWS_PORT) if aws_port is None else aws_port
        self.pool_size = pool_size or _int_setting(self.env, "HUB_LOCAL_WORKERS", 1) or 1
        self.retry_delay = _int_setting(self.env, "HUB_LOCAL_RETRY_DELAY", 1)
        # The longest batching window a local poller waits; unset, each mapping's own (as in AWS).
        self.batching_window_cap = _seconds_setting(self.env, "HUB_LOCAL_BATCHING_WINDOW")
        self.verbose = verbose
        self.function_env = dict(function_env or {})
        self.console = console or Console(verbose=verbose)
        self.token_generated = not self.env.get("HUB_API_TOKEN")
        self.api_token = self.env.get("HUB_API_TOKEN") or secrets.token_urlsafe(24)

        self.template: SamTemplate | None = None
        self.resolver: Resolver | None = None
        self.secrets: dict[str, str] = {}
        self.secret_arns: dict[str, str] = {}  # concern -> ARN of its secret in the emulator
        self.config_path: Path | None = None
        self.functions: dict[str, FunctionSpec] = {}
        self.routes: list[Route] = []
        self.event_sources: list[EventSource] = []
        self.schedules: list[ScheduleSpec] = []
        self.physical_ids: dict[str, str] = {}
        self.warnings: list[str] = []

        self._emulator = Emulator(self.aws_port, on_output=self.console.emulator_output)
        self._server: ApiServer | None = None
        self._pools: dict[str, FunctionPool] = {}
        self._pollers: list[Poller] = []
        self._scheduler: Scheduler | None = None
        self._schedule_poller: SchedulePoller | None = None
        self._gateway: Gateway | None = None
        self._sqs: Any = None
        self._started = False
        self._stopped = threading.Event()
        self._stop_lock = threading.Lock()

    # ------------------------------------------------------------ addresses
    @property
    def url(self) -> str:
        if self._server is None:
            raise LocalStackError("the local stack has not started")
        return self._server.url

    @property
    def aws_endpoint(self) -> str:
        return self._emulator.endpoint

    @property
    def emulator_pid(self) -> int:
        """The process id of the AWS emulator (for benchmarks that read its memory and CPU)."""
        return self._emulator.pid

    def client(self, service: str, app_id: str | None = None) -> Any:
        """A boto3 client for the emulator (dummy credentials, us-east-1); `app_id` names the caller
        in the emulator's call counts."""
        return aws_client(service, self.aws_endpoint, app_id)

    def calls(self) -> dict[str, Any]:
        """Every AWS request the emulator served since it started or was last reset, by caller, service
        and action, with DynamoDB's read and write units (see commerce_hub.local.calls)."""
        response = httpx.get(f"{self.aws_endpoint}{CALLS_PATH}", timeout=30)
        response.raise_for_status()
        return response.json()

    def schedule_changes(self, after: int | None) -> dict[str, Any]:
        """The schedules created, updated or deleted in the emulator after change number `after`
        (see commerce_hub.local.schedule_journal); with None, only the latest number."""
        params = {} if after is None else {"after": str(after)}
        response = httpx.get(f"{self.aws_endpoint}{CHANGES_PATH}", params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def reset_calls(self) -> None:
        """Set the emulator's call counts back to zero."""
        httpx.post(f"{self.aws_endpoint}{RESET_PATH}", timeout=30).raise_for_status()

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Create everything; returns once /health would answer 200. Stops what it started on failure."""
        if self._started:
            raise LocalStackError("this LocalStack has already been started")
        self._started = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        # The HTTP port first: a port conflict fails in milliseconds, and /health answers 503 early.
        self._gateway = Gateway(
            routes=[],
            api_token=self.api_token,
            api_id=LOCAL_API_ID,
            account_id=ACCOUNT_ID,
            invoke=self._invoke_function,
            function_name=self.function_name,
            health=self.health,
            fire_schedule=self.fire_schedule,
            fire_due_schedules=self.fire_due_schedules,
        )
        self._server = ApiServer(self._gateway, self.console, port=self.http_port)
        self._server.start()
        self._emulator.start()
        template = self._provision()
        self._not_stopped()
        self._wire(template)
        self._start_functions()
        self._not_stopped()
        self._start_pollers()
        self._scheduler = Scheduler(self.schedules, self._fire_on_time, self.console)
        self._scheduler.start()
        self._schedule_poller = SchedulePoller(
            self.client("scheduler", app_id=SCHEDULER),
            self.client("sqs", app_id=SCHEDULER),
            self.console,
            changes=self.schedule_changes,
        )
        self._schedule_poller.start()
        self._not_stopped()
        self._gateway.routes = self.routes
        self._gateway.ready = True

    def put_secrets(self, document: dict[str, str]) -> None:
        """Store `document` (every key, as in the environment) as the stack's secrets, one per concern.

        Functions cache a secret for up to five minutes, so a change reaches a function that has
        already read it only after that (or after a restart).
        """
        self.secrets = dict(document)
        self.secret_arns = put_secrets(self.client("secretsmanager"), SECRETS_PREFIX, self.secrets)

    def _provision(self) -> SamTemplate:
        """Secret, configuration parameter and stack in the emulator; returns the translated template."""
        assert self._server is not None
        # While the emulator boots: read the template and the configuration, build the secret.
        source = read_source(self.root)
        layer_folders = [
            (self.root / str(r.get("Properties", {}).get("ContentUri", ""))).resolve()
            for r in source["Resources"].values()
            if r.get("Type") == "AWS::Serverless::LayerVersion"
        ]
        self.config_path, config_text = read_config(self.root, self.env, layer_folders)
        try:
            self.keys = local_signing_keys(self.root)
            self.secrets = local_secrets(
                {**self.env, "HUB_PORT": str(self._server.port)}, self.keys, channel_secret_keys(config_text)
            )
        except ValueError as exc:
            raise LocalStackError(str(exc)) from exc

        self._emulator.wait_ready()
        self._not_stopped()
        self.put_secrets(self.secrets)
        put_console_secret(self.client("secretsmanager"), SECRETS_PREFIX, self.api_token)
        put_config_parameter(self.client("ssm"), CONFIG_PARAMETER, config_text)

        declared = source.get("Parameters") or {}
        local_values = {"Stage": LOCAL_STAGE, "SecretsPrefix": SECRETS_PREFIX, "ConfigParameterName": CONFIG_PARAMETER}
        parameters = {name: value for name, value in local_values.items() if name in declared}
        self.template = template = load_template(self.root, parameters, region=REGION, source=source)
        emulated, warnings = template.emulator_template()
        self.warnings.extend(warnings)
        created = create_stack(self.client("cloudformation"), STACK_NAME, emulated, parameters)
        self.physical_ids = {lid: r["PhysicalResourceId"] for lid, r in created.items() if r.get("PhysicalResourceId")}
        self.resolver = self._resolver(template, parameters)
        # What the emulator's CloudFormation leaves out: schedule groups, and the sender SES must know.
        groups = [str(self.resolver.ref(lid)) for lid in template.of_type("AWS::Scheduler::ScheduleGroup")]
        create_schedule_groups(self.client("scheduler"), groups)
        verify_sender(self.client("ses"), config_text)
        return template

    def _wire(self, template: SamTemplate) -> None:
        """Functions, routes, queue event sources and schedules, all read from the template."""
        assert self.resolver is not None
        self.functions = function_specs(template, self.resolver)
        for api in template.of_type("AWS::ApiGatewayV2::Api").values():
            body = api.get("Properties", {}).get("Body")
            if isinstance(body, dict):
                self.routes.extend(routes_from_openapi(body, template.function_of))
        self.event_sources, warnings = event_sources(template, self.resolver)
        self.warnings.extend(warnings)
        self.schedules, warnings = schedules_of(template, self.resolver)
        self.warnings.extend(warnings)
        for warning in self.warnings:
            self.console.warning(warning)

    def _start_functions(self) -> None:
        """One pool of workers per function; all import their handlers at once."""
        for logical_id, spec in self.functions.items():
            env = worker_environment(spec, endpoint=self.aws_endpoint, verbose=self.verbose, extra=self.function_env)
            self._pools[logical_id] = FunctionPool(spec, env, self.console, self.pool_size)
        for pool in self._pools.values():
            pool.start()
        for pool in self._pools.values():
            pool.wait_ready()

    def _start_pollers(self) -> None:
        for source_mapping in self.event_sources:
            if not source_mapping.enabled:
                continue
            poller = Poller(
                source_mapping.window_at_most(self.batching_window_cap),
                self._pools[source_mapping.function],
                self.client("sqs", app_id=EVENT_SOURCE_MAPPING),
                self.console,
                region=REGION,
                retry_delay=self.retry_delay,
                concurrency=self.pool_size,
                on_batch=self._log_batch,
            )
            self._pollers.append(poller)
            poller.start()
        for poller in self._pollers:
            if not poller.running.wait(30):
                raise LocalStackError(f"the poller of {poller.source.queue_name} did not start")

    def _resolver(self, template: SamTemplate, parameters: Mapping[str, str]) -> Resolver:
        values = {
            name: definition.get("Default")
            for name, definition in (template.translated.get("Parameters") or {}).items()
            if "Default" in definition
        }
        values.update(parameters)
        assert self._server is not None
        resources = StackResources(
            resources=template.resources,
            physical_ids=self.physical_ids,
            queue_url=self._queue_url,
            api_endpoint=self._server.url,
            region=REGION,
            account_id=ACCOUNT_ID,
        )
        resolver = Resolver(
            parameters=values,
            resources=resources,
            conditions=template.translated.get("Conditions"),
            mappings=template.translated.get("Mappings"),
            region=REGION,
            account_id=ACCOUNT_ID,
            stack_name=STACK_NAME,
        )
        resources.resolver = resolver
        return resolver

    def _queue_url(self, name: str) -> str:
        if self._sqs is None:
            self._sqs = self.client("sqs")
        return self._sqs.get_queue_url(QueueName=name)["QueueUrl"]

    def _not_stopped(self) -> None:
        # stop() may run on another thread while start() is under way (Ctrl-C during startup).
        if self._stopped.is_set():
            raise LocalStackError("the local stack was stopped while starting")

    def stop(self) -> None:
        """Stop intake first (HTTP, schedules, pollers), then the functions, then the emulator.

        Safe to call more than once, and from another thread while `start()` runs.
        """
        self._stopped.set()
        with self._stop_lock:
            if self._gateway is not None:
                self._gateway.ready = False
            if self._server is not None:
                self._server.stop()
            if self._scheduler is not None:
                self._scheduler.stop()
            if self._schedule_poller is not None:
                self._schedule_poller.stop()
            for poller in self._pollers:
                poller.request_stop()
            pools, self._pools = list(self._pools.values()), {}
            threads = [threading.Thread(target=pool.stop, daemon=True) for pool in pools]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for poller in self._pollers:
                poller.join()
            self._pollers = []
            self._emulator.stop()

    # ------------------------------------------------------------ operation
    def function_name(self, logical_id: str) -> str:
        spec = self.functions.get(logical_id)
        return spec.name if spec else logical_id

    def invoke(self, function: str, event: Any) -> Invocation:
        """Invoke a function (logical id or name) synchronously, as `aws lambda invoke` would."""
        for logical_id, spec in self.functions.items():
            if function in (logical_id, spec.name):
                return self._invoke_function(logical_id, event)
        raise KeyError(function)

    def _invoke_function(self, logical_id: str, event: Any) -> Invocation:
        pool = self._pools.get(logical_id)
        if pool is None:
            raise LocalStackError(f"function {logical_id} is not running")
        return pool.invoke(event)

    def function_usage(self, reset: bool = False) -> dict[str, dict[str, Any]]:
        """What each function's invocations used since the start (or the last reset), by logical id:
        {"invocations", "wall_ms": [...], "cpu_ms": [...], "peak_rss_kb"} (see functions.Usage)."""
        return {logical_id: pool.usage.snapshot(reset) for logical_id, pool in self._pools.items()}

    def fire_schedule(self, name: str) -> Invocation:
        """Fire a schedule now (logical id or name) and wait for the function; KeyError if unknown."""
        for spec in self.schedules:
            if name in (spec.logical_id, spec.name):
                return self._fire(spec, datetime.now(UTC))
        raise KeyError(name)

    def fire_due_schedules(self, now: datetime | None = None) -> list[str]:
        """Fire, at once, every run-time one-time schedule due at `now` (tests make time pass with it)."""
        if self._schedule_poller is None:
            raise LocalStackError("the local stack has not started")
        return self._schedule_poller.fire_due(now)

    def _fire_on_time(self, spec: ScheduleSpec, when: datetime) -> None:
        self._fire(spec, when)

    def _fire(self, spec: ScheduleSpec, when: datetime) -> Invocation:
        event = scheduled_event(spec, when, account_id=ACCOUNT_ID, region=REGION)
        invocation = self._invoke_function(spec.function, event)
        self.console.invocation(
            self.function_name(spec.function),
            f"schedule {spec.logical_id}",
            invocation.summary(),
            invocation.duration_ms,
        )
        return invocation

    def _log_batch(self, source: EventSource, invocation: Invocation, size: int, failed: int) -> None:
        trigger = f"sqs {source.queue_name} batch {size}" + (f", {failed} failed" if failed else "")
        self.console.invocation(
            self.function_name(source.function), trigger, invocation.summary(), invocation.duration_ms
        )

    def health(self) -> tuple[bool, dict[str, Any]]:
        """(ready, document) for GET /health: ready once every worker, poller and schedule runs."""
        functions = {lid: pool.status() for lid, pool in self._pools.items()}
        pollers = [poller.status() for poller in self._pollers]
        schedules = self._scheduler.status() if self._scheduler else []
        runtime = self._schedule_poller.status() if self._schedule_poller else {"running": False, "fired": 0}
        ready = bool(
            self._gateway
            and self._gateway.ready
            and all(f["ready"] for f in functions.values())
            and all(p["running"] for p in pollers)
            and (self._scheduler is None or self._scheduler.running)
            and runtime["running"]
        )
        document = {
            "status": "ok" if ready else "starting",
            "functions": functions,
            "pollers": pollers,
            "schedules": schedules,
            "runtime_schedules": runtime,
        }
        return ready, document
