"""The functions of the template, each served by long-lived worker processes.

Lambda runs every function in its own sandbox; here every function gets its own Python process(es)
running `runtime.py`, with the function's code folder and layers on sys.path and an environment
built like Lambda's: the template's variables (Globals merged, intrinsics resolved), Lambda's
reserved variables, dummy credentials and AWS_ENDPOINT_URL pointing at the emulator.

A `FunctionPool` holds `size` workers of one function (one by default: reserved concurrency 1) and
enforces the function's Timeout: a worker that overruns is killed and replaced, and the invocation
fails with "Task timed out after N seconds", as Lambda reports it. Each pool also keeps what every
invocation used (handler wall and CPU time, the workers' peak RSS) for the memory sizing benchmark.

Workers never outlive the process that started them. Each one's stdin is a pipe only that process
holds and never writes; the runtime exits as soon as it reads end-of-file there, which the kernel
delivers however the parent ended (clean stop, SIGTERM without clean-up, SIGKILL, a crash), and
whatever the worker is doing at the time: a handler in the middle of a retry loop against an
emulator that has gone is the case that used to leave orphans. The emulator exits the same way.

Why a pipe and not Linux's PR_SET_PDEATHSIG: the death signal fires when the *thread* that forked
the child ends, not the process, and workers are replaced (after a timeout or an exit) from poller
and HTTP request threads that come and go; it is Linux only, too. A pipe works on every POSIX
system (macOS included) and is the same mechanism the emulator uses. Its one limit: a process forked
from the parent without exec (multiprocessing's "fork") inherits the pipe's write end and keeps the
workers alive until it ends too; the stack never forks without exec.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any, Literal

from .console import Console
from .emulator import DUMMY_CREDENTIALS, REGION
from .intrinsics import Resolver, UnresolvableError
from .template import SamTemplate

__all__ = ["FunctionPool", "FunctionSpec", "Invocation", "Usage", "function_specs", "worker_environment"]

# Lambda allows 10 s for init; workers start together on a small machine, so locally allow more.
INIT_TIMEOUT_SECONDS = 30.0
DEFAULT_TIMEOUT_SECONDS = 3
DEFAULT_MEMORY_MB = 128

# Variables of the developer's shell a function may need locally (locale, CA bundles, proxies);
# nothing else leaks in, so an AWS_PROFILE or real credentials never reach the functions.
_PASSTHROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "SYSTEMROOT",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
)


@dataclass(frozen=True)
class FunctionSpec:
    """One AWS::Lambda::Function of the translated template, resolved for the local stack."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_folder: Path
    layer_folders: tuple[Path, ...]
    timeout: int
    memory_mb: int
    environment: Mapping[str, str]
    log_group: str


def function_specs(template: SamTemplate, resolver: Resolver) -> dict[str, FunctionSpec]:
    """Every function of the template by logical id."""
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in template.of_type("AWS::Lambda::Function").items():
        properties = resource.get("Properties", {})
        where = f"{logical_id}"
        name = resolver.resolve_string({"Ref": logical_id}, f"{where} FunctionName")
        layers = []
        for layer in properties.get("Layers", []):
            layer_ids = [lid for lid in template.of_type("AWS::Lambda::LayerVersion") if {"Ref": lid} == layer]
            if not layer_ids:
                raise UnresolvableError(f"{where}: layer {layer!r} is not a local layer of the template")
            layers.append(template.layer_python_folder(layer_ids[0]))
        variables = properties.get("Environment", {}).get("Variables", {})
        environment = {
            key: resolver.resolve_string(value, f"{where} environment variable {key}")
            for key, value in resolver.resolve(variables).items()
        }
        logging_config = resolver.resolve(properties.get("LoggingConfig", {}))
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=name,
            arn=resolver.resolve_string({"Fn::GetAtt": [logical_id, "Arn"]}, f"{where} Arn"),
            handler=resolver.resolve_string(properties.get("Handler"), f"{where} Handler"),
            code_folder=template.code_folder(logical_id),
            layer_folders=tuple(layers),
            timeout=int(resolver.resolve(properties.get("Timeout", DEFAULT_TIMEOUT_SECONDS))),
            memory_mb=int(resolver.resolve(properties.get("MemorySize", DEFAULT_MEMORY_MB))),
            environment=environment,
            log_group=logging_config.get("LogGroup") or f"/aws/lambda/{name}",
        )
    return specs


def worker_environment(
    spec: FunctionSpec,
    *,
    endpoint: str,
    verbose: bool,
    extra: Mapping[str, str] | None = None,
    host_environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a worker: what Lambda would set, pointed at the emulator."""
    host = os.environ if host_environ is None else host_environ
    env = {key: host[key] for key in _PASSTHROUGH if key in host}
    no_proxy = [p for p in (host.get("NO_PROXY") or host.get("no_proxy") or "").split(",") if p]
    env["NO_PROXY"] = ",".join([*no_proxy, "127.0.0.1", "localhost"])
    env.update(spec.environment)
    if not verbose:
        env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    env.update(extra or {})
    stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{secrets.token_hex(16)}"
    # Lambda's reserved variables, which a function cannot override.
    env.update(DUMMY_CREDENTIALS)
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "LAMBDA_TASK_ROOT": str(spec.code_folder),
            "_HANDLER": spec.handler,
            "TZ": "UTC",
            # What `sam local` sets; Powertools Tracer, for one, stays off instead of looking for X-Ray.
            "AWS_SAM_LOCAL": "true",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "HUB_LOCAL_FUNCTION_ARN": spec.arn,
            "HUB_LOCAL_LAYERS": os.pathsep.join(str(p) for p in spec.layer_folders),
            # botocore puts it in the User-Agent (`app/<id>`): the emulator counts calls by function.
            "AWS_SDK_UA_APP_ID": spec.logical_id,
        }
    )
    return env


@dataclass
class Invocation:
    """The outcome of one invocation, as Lambda's Invoke API would report it."""

    request_id: str
    status: Literal["ok", "error", "timeout"]
    result: Any = None
    error: dict[str, Any] | None = None
    duration_ms: float = 0.0
    # Measured in the worker: {"wall_ms", "cpu_ms", "max_rss_kb"}; None when the worker gave no answer.
    usage: dict[str, float] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> str:
        if self.ok:
            return "ok"
        if self.status == "timeout":
            return "timeout"
        return f"error {(self.error or {}).get('errorType', '')}".strip()


@dataclass
class _Worker:
    """One worker process of a function and the runner's end of its pipe."""

    spec: FunctionSpec
    env: Mapping[str, str]
    console: Console
    process: subprocess.Popen[bytes] | None = None
    connection: Connection | None = None
    state: Literal["new", "starting", "ready", "init_error", "dead"] = "new"
    init_error: dict[str, Any] | None = None
    _reader: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        ours, theirs = Pipe(duplex=True)
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-m", "commerce_hub.local.runtime", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            env=dict(self.env),
            cwd=str(self.spec.code_folder),
            # A pipe only this process holds and never writes: when this process dies, however
            # it dies, the worker reads end-of-file and exits, even in the middle of a handler.
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own session, so Ctrl-C reaches the runner only and shutdown stays orderly.
            start_new_session=True,
        )
        theirs.close()
        self.connection = ours
        self.state = "starting"
        self._reader = threading.Thread(target=self._read_output, name=f"out-{self.spec.name}", daemon=True)
        self._reader.start()

    def _read_output(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line:
                self.console.function_output(self.spec.name, line)

    def wait_ready(self, timeout: float = INIT_TIMEOUT_SECONDS) -> None:
        """Block until the worker finished init (successfully or not) or mark it dead."""
        if self.state != "starting":
            return
        assert self.connection is not None
        try:
            if not self.connection.poll(timeout):
                self.init_error = {"errorType": "Runtime.InitTimeout", "errorMessage": "init timed out"}
                self.kill()
                return
            message = json.loads(self.connection.recv_bytes())
        except (EOFError, OSError):
            self.init_error = {"errorType": "Runtime.ExitError", "errorMessage": "the worker exited during init"}
            self.kill()
            return
        if message.get("status") == "ready":
            self.state = "ready"
        else:
            self.state = "init_error"
            self.init_error = message.get("error")
            trace = "".join((self.init_error or {}).get("stackTrace", []))
            self.console.traceback(self.spec.name, f"init failed (every invocation will fail):\n{trace}")

    def invoke(self, event: Any, request_id: str, timeout: float) -> Invocation:
        self.wait_ready()
        if self.state == "dead":
            return Invocation(request_id, "error", error=self.init_error)
        assert self.connection is not None
        request = {"request_id": request_id, "timeout_ms": int(timeout * 1000), "event": event}
        started = time.monotonic()
        try:
            self.connection.send_bytes(json.dumps(request).encode())
            if not self.connection.poll(timeout):
                self.kill()
                return Invocation(
                    request_id,
                    "timeout",
                    error={
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"Task timed out after {timeout:.2f} seconds",
                    },
                    duration_ms=(time.monotonic() - started) * 1000,
                )
            reply = json.loads(self.connection.recv_bytes())
        except (EOFError, OSError, BrokenPipeError):
            self.kill()
            return Invocation(
                request_id,
                "error",
                error={"errorType": "Runtime.ExitError", "errorMessage": "the function's process exited"},
                duration_ms=(time.monotonic() - started) * 1000,
            )
        duration_ms = (time.monotonic() - started) * 1000
        usage = reply.get("usage")
        if reply.get("status") == "ok":
            self.state, self.init_error = "ready", None
            result = json.loads(reply["payload"])
            return Invocation(request_id, "ok", result=result, duration_ms=duration_ms, usage=usage)
        # A handler that raised, or an init that failed again: the worker itself stays usable.
        self.state = "ready" if reply.get("initialized", True) else "init_error"
        if self.state == "ready":
            self.init_error = None
        return Invocation(request_id, "error", error=reply.get("error"), duration_ms=duration_ms, usage=usage)

    def kill(self) -> None:
        self.state = "dead"
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.connection is not None:
            self.connection.close()
        self._close_stdin()

    def _close_stdin(self) -> None:
        if self.process is not None and self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()

    def stop(self, grace: float = 2.0) -> None:
        # Terminate first: an invocation in flight on another thread then sees the pipe close and
        # returns an error at once, instead of waiting out its timeout.
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.connection is not None:
            self.connection.close()
        self._close_stdin()
        if self._reader is not None:
            self._reader.join(timeout=1)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.state = "dead"


class Usage:
    """What a function's invocations used, as Lambda's REPORT lines would say: per invocation the
    handler's wall and CPU time, and the highest peak RSS any worker reported. Thread-safe; keeps the
    last `keep` invocations."""

    def __init__(self, keep: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, float, int]] = deque(maxlen=keep)
        self._invocations = 0
        self._peak_rss_kb = 0

    def record(self, usage: Mapping[str, float] | None, records: int = 1) -> None:
        """One invocation's usage; `records` is the size of the batch it handled (1 if not a batch)."""
        if not usage:
            return
        with self._lock:
            self._invocations += 1
            self._samples.append((float(usage["wall_ms"]), float(usage["cpu_ms"]), records))
            self._peak_rss_kb = max(self._peak_rss_kb, int(usage.get("max_rss_kb", 0)))

    def snapshot(self, reset: bool = False) -> dict[str, Any]:
        """{"invocations", "wall_ms": [...], "cpu_ms": [...], "records": [...], "peak_rss_kb"}; `reset` starts afresh
        (the peak RSS too: it is then the peak of the workers' lives so far, as they report it next)."""
        with self._lock:
            snapshot = {
                "invocations": self._invocations,
                "wall_ms": [wall for wall, _, _ in self._samples],
                "cpu_ms": [cpu for _, cpu, _ in self._samples],
                "records": [records for _, _, records in self._samples],
                "peak_rss_kb": self._peak_rss_kb,
            }
            if reset:
                self._samples.clear()
                self._invocations = 0
                self._peak_rss_kb = 0
        return snapshot


class FunctionPool:
    """`size` workers of one function; invocations wait for an idle worker, like reserved concurrency."""

    def __init__(self, spec: FunctionSpec, env: Mapping[str, str], console: Console, size: int = 1) -> None:
        self.spec = spec
        self.env = env
        self.console = console
        self.size = max(1, size)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._stopping = False
        self.usage = Usage()

    def start(self) -> None:
        for _ in range(self.size):
            worker = _Worker(self.spec, self.env, self.console)
            worker.start()
            self._workers.append(worker)
            self._idle.put(worker)

    def wait_ready(self) -> None:
        for worker in list(self._workers):
            worker.wait_ready()

    @property
    def ready(self) -> bool:
        """Every worker has finished init (an init error counts: invocations report it)."""
        return bool(self._workers) and all(w.state in ("ready", "init_error") for w in self._workers)

    @property
    def init_error(self) -> str | None:
        for worker in self._workers:
            if worker.state == "init_error" and worker.init_error:
                return f"{worker.init_error.get('errorType')}: {worker.init_error.get('errorMessage')}"
        return None

    def invoke(self, event: Any) -> Invocation:
        request_id = str(uuid.uuid4())
        worker = self._take_idle()
        if worker is None:
            return Invocation(request_id, "error", error={"errorType": "Runtime.Stopped", "errorMessage": "stopping"})
        try:
            invocation = worker.invoke(event, request_id, float(self.spec.timeout))
        finally:
            self._give_back(worker)
        batch = event.get("Records") if isinstance(event, dict) else None
        self.usage.record(invocation.usage, len(batch) if isinstance(batch, list) and batch else 1)
        if invocation.status == "error" and invocation.error and not self._stopping:
            trace = "".join(invocation.error.get("stackTrace") or [])
            message = f"{invocation.error.get('errorType')}: {invocation.error.get('errorMessage')}"
            self.console.traceback(self.spec.name, trace or message)
        return invocation

    def _take_idle(self) -> _Worker | None:
        while not self._stopping:
            try:
                return self._idle.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker.state == "dead" and not self._stopping:
                # Killed after a timeout or an exit: a fresh sandbox takes its place (cold start).
                self._workers.remove(worker)
                worker = _Worker(self.spec, self.env, self.console)
                worker.start()
                self._workers.append(worker)
            if not self._stopping:
                self._idle.put(worker)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            workers = list(self._workers)
        threads = [threading.Thread(target=w.stop, daemon=True) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def status(self) -> dict[str, Any]:
        return {
            "name": self.spec.name,
            "workers": len(self._workers),
            "ready": self.ready,
            **({"init_error": self.init_error} if self.init_error else {}),
        }
