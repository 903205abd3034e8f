"""The Lambda runtime inside one worker process: import the handler once, then serve invocations.

Run as `python -m commerce_hub.local.runtime FD`, where FD is the worker's end of a pipe to the
runner. Like the Lambda Python runtime it puts the function's code folder first on sys.path (as
/var/task) and each layer after it (as /opt/python), imports the handler during init, keeps module
state between invocations, JSON-decodes each event, gives the handler a context object, and
JSON-encodes the result as the python3.12 runtime does (Decimal as a number, non-ASCII unescaped; a
result that cannot be encoded is an error, as in AWS).

This module imports only the standard library, so a worker's cold start is the function's own.

stdin is a pipe the runner holds and never writes. A daemon thread reads it from the first moment;
end-of-file means the runner has gone (killed, crashed, or stopped), and the worker exits at once,
even while a handler runs: nothing else would end a handler stuck retrying an emulator that went
with the runner, since the runner enforced its timeout.

Protocol, one JSON document per message:
  worker -> runner once:  {"status": "ready"} or {"status": "init_error", "error": {...}}
  runner -> worker:       {"request_id", "timeout_ms", "event"}
  worker -> runner:       {"status": "ok", "payload": "<json>", "initialized": true, "usage": {...}}
                          or {"status": "error", "error": {...}, "initialized": true | false, "usage": {...}}
Errors have Lambda's shape: {"errorType", "errorMessage", "stackTrace"}. `usage` is what Lambda's REPORT
line would say of the invocation, measured in the worker: {"wall_ms", "cpu_ms", "max_rss_kb"} (the
handler's wall and CPU time, `time.process_time()`, and the worker's peak RSS so far); the memory
sizing benchmark (bench/sizing.py) reads it.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

try:
    import resource
except ImportError:  # not on Windows: no peak RSS there
    resource = None  # type: ignore[assignment]  # the module, or None where the platform has none


class LambdaContext:
    """What the Lambda Python runtime passes as `context`."""

    def __init__(self, request_id: str, timeout_ms: int) -> None:
        self._deadline = time.monotonic() + timeout_ms / 1000
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ["HUB_LOCAL_FUNCTION_ARN"]
        # The Python runtime reads this from the environment and keeps it a string.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self.tenant_id = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r}, "
            f"remaining_ms={self.get_remaining_time_in_millis()})"
        )


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


def _decimal_default(value: Any) -> Any:
    # Lambda's runtime serialises Decimal (what boto3's DynamoDB resource returns) as a float.
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _load_handler(spec: str) -> Callable[[Any, Any], Any]:
    module_name, _, function_name = spec.rpartition(".")
    if not module_name or not function_name:
        raise ValueError(f"Bad handler '{spec}': expected module.function")
    module = importlib.import_module(module_name.replace("/", "."))
    handler = getattr(module, function_name, None)
    if handler is None:
        raise AttributeError(f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


def _init(task_root: str, layers: list[str], handler_spec: str) -> Callable[[Any, Any], Any]:
    # /var/task first, then /opt/python of each layer, then the runtime's own packages.
    sys.path[:0] = [task_root, *layers]
    os.chdir(task_root)
    return _load_handler(handler_spec)


def _peak_rss_kb() -> int:
    """The peak RSS of this process since it started its program: Linux's VmHWM. Not ru_maxrss,
    which on Linux keeps the high-water mark of the parent's copy this process was forked from."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    if resource is None:
        return 0
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max_rss // 1024 if sys.platform == "darwin" else max_rss  # bytes on macOS


def _usage(wall_start: float, cpu_start: float) -> dict[str, float]:
    return {
        "wall_ms": round((time.perf_counter() - wall_start) * 1000, 3),
        "cpu_ms": round((time.process_time() - cpu_start) * 1000, 3),
        "max_rss_kb": _peak_rss_kb(),
    }


def serve(connection: Connection) -> None:
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    layers = [p for p in os.environ.get("HUB_LOCAL_LAYERS", "").split(os.pathsep) if p]
    handler_spec = os.environ["_HANDLER"]
    handler: Callable[[Any, Any], Any] | None = None
    try:
        handler = _init(task_root, layers, handler_spec)
        connection.send_bytes(json.dumps({"status": "ready"}).encode())
    except Exception as exc:
        init_error = _error(exc, "Runtime.ImportModuleError" if isinstance(exc, ImportError) else None)
        connection.send_bytes(json.dumps({"status": "init_error", "error": init_error}).encode())

    while True:
        try:
            request = json.loads(connection.recv_bytes())
        except (EOFError, OSError):
            return  # the runner went away or closed us
        if handler is None:
            # Lambda retries init on the next invocation after a failed one.
            try:
                handler = _load_handler(handler_spec)
            except Exception as exc:
                error = _error(exc, "Runtime.ImportModuleError" if isinstance(exc, ImportError) else None)
                failed: dict[str, Any] = {"status": "error", "error": error, "initialized": False}
                connection.send_bytes(json.dumps(failed).encode())
                continue
        context = LambdaContext(request["request_id"], request["timeout_ms"])
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        try:
            result = handler(request["event"], context)
        except Exception as exc:
            reply: dict[str, Any] = {"status": "error", "error": _error(exc), "initialized": True}
        else:
            try:
                payload = json.dumps(result, default=_decimal_default, ensure_ascii=False)
                reply = {"status": "ok", "payload": payload, "initialized": True}
            except (TypeError, ValueError) as exc:
                reply = {"status": "error", "error": _error(exc, "Runtime.MarshalError"), "initialized": True}
        reply["usage"] = _usage(wall_start, cpu_start)
        sys.stdout.flush()
        sys.stderr.flush()
        connection.send_bytes(json.dumps(reply).encode())


def _exit_when_runner_goes(fd: int = 0) -> None:
    """Block on the runner's pipe; at end-of-file (or an error) end this process at once."""
    try:
        while os.read(fd, 65536):
            pass  # the runner never writes; anything read is ignored
    except OSError:
        pass
    finally:
        os._exit(0)


def watch_runner(fd: int = 0) -> threading.Thread:
    """Exit this worker when `fd` (stdin: a pipe only the runner holds) reaches end-of-file."""
    watcher = threading.Thread(target=_exit_when_runner_goes, args=(fd,), name="runner-watch", daemon=True)
    watcher.start()
    return watcher


def main(argv: list[str]) -> None:
    watch_runner()
    connection = Connection(int(argv[0]))
    serve(connection)


if __name__ == "__main__":
    main(sys.argv[1:])
