"""Worker processes behave like Lambda sandboxes: init once, context, timeout, errors, environment."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from commerce_hub.local.console import Console, is_warning_or_worse
from commerce_hub.local.functions import FunctionPool, FunctionSpec, worker_environment

HANDLER = """
import json, os, sys, time
import helper

COUNT = 0

def handler(event, context):
    global COUNT
    COUNT += 1
    action = event.get("action")
    if action == "raise":
        raise ValueError("bad input")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "spin":  # burn this much CPU time
        until = time.process_time() + event["seconds"]
        while time.process_time() < until:
            pass
    if action == "allocate":  # touch this many MB, so they count in the peak RSS
        block = bytearray(event["mb"] * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
    if action == "exit":
        sys.exit(3)
    if action == "unencodable":
        return {"value": object()}
    return {
        "count": COUNT,
        "event": event,
        "helper": helper.NAME,
        "path": sys.path[:2],
        "cwd": os.getcwd(),
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
        "env": {k: os.environ.get(k) for k in (
            "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_LAMBDA_FUNCTION_NAME",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "POWERTOOLS_LOG_LEVEL", "HUB_TABLE", "HUB_CONFIG")},
    }
"""


def spec_for(tmp_path: Path, handler_source: str = HANDLER, timeout: int = 2) -> FunctionSpec:
    code = tmp_path / "fn"
    layer = tmp_path / "layer"
    code.mkdir(exist_ok=True)
    layer.mkdir(exist_ok=True)
    (code / "app.py").write_text(handler_source)
    (layer / "helper.py").write_text("NAME = 'from the layer'\n")
    return FunctionSpec(
        logical_id="Fn",
        name="commerce-hub-test-fn",
        arn="arn:aws:lambda:us-east-1:123456789012:function:commerce-hub-test-fn",
        handler="app.handler",
        code_folder=code,
        layer_folders=(layer,),
        timeout=timeout,
        memory_mb=256,
        environment={"HUB_TABLE": "commerce-hub-dev", "POWERTOOLS_LOG_LEVEL": "DEBUG"},
        log_group="/aws/lambda/commerce-hub-test-fn",
    )


@pytest.fixture
def output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def pool(tmp_path: Path, output: io.StringIO) -> Iterator[FunctionPool]:
    spec = spec_for(tmp_path)
    host = {"PATH": "/usr/bin:/bin", "AWS_PROFILE": "real-account", "HUB_CONFIG": "config/local.yaml"}
    env = worker_environment(spec, endpoint="http://127.0.0.1:4566", verbose=False, host_environ=host)
    pool = FunctionPool(spec, env, Console(stream=output))
    pool.start()
    pool.wait_ready()
    yield pool
    pool.stop()


def test_an_invocation_runs_the_handler_like_lambda(pool: FunctionPool, tmp_path: Path) -> None:
    invocation = pool.invoke({"hello": "wörld"})
    assert invocation.ok, invocation.error
    result = invocation.result
    assert result["event"] == {"hello": "wörld"}
    assert result["helper"] == "from the layer"
    assert result["path"] == [str(tmp_path / "fn"), str(tmp_path / "layer")]
    assert result["cwd"] == str(tmp_path / "fn")
    context = result["context"]
    assert context["function_name"] == "commerce-hub-test-fn"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"].endswith(":function:commerce-hub-test-fn")
    assert context["memory_limit_in_mb"] == "256"
    assert context["aws_request_id"] == invocation.request_id
    assert context["log_group_name"] == "/aws/lambda/commerce-hub-test-fn"
    assert "[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining"] <= 2000
    env = result["env"]
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["AWS_PROFILE"] is None and env["HUB_CONFIG"] is None  # nothing leaks from the shell
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "commerce-hub-test-fn"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["HUB_TABLE"] == "commerce-hub-dev"
    assert env["POWERTOOLS_LOG_LEVEL"] == "WARNING"  # not --verbose


def test_module_state_survives_between_invocations(pool: FunctionPool) -> None:
    assert pool.invoke({}).result["count"] == 1
    assert pool.invoke({}).result["count"] == 2


def test_a_handler_that_raises_fails_the_invocation_and_keeps_the_sandbox(
    pool: FunctionPool, output: io.StringIO
) -> None:
    pool.invoke({})
    failed = pool.invoke({"action": "raise"})
    assert failed.status == "error"
    assert failed.error["errorType"] == "ValueError"
    assert failed.error["errorMessage"] == "bad input"
    assert "Traceback" in output.getvalue() and "bad input" in output.getvalue()
    assert pool.invoke({}).result["count"] == 3  # same sandbox


def test_each_invocation_reports_its_wall_and_cpu_time_and_the_peak_rss(pool: FunctionPool) -> None:
    slept = pool.invoke({"action": "sleep", "seconds": 0.3})
    spun = pool.invoke({"action": "spin", "seconds": 0.2})
    assert slept.usage["wall_ms"] >= 300 and slept.usage["cpu_ms"] < slept.usage["wall_ms"] - 200
    # Wall and CPU time come from two clocks, each rounded: a busy loop's CPU time can read a few
    # microseconds above its wall time (200.255 against 200.25 ms was seen), never a millisecond.
    assert spun.usage["cpu_ms"] >= 200 and spun.usage["wall_ms"] >= spun.usage["cpu_ms"] - 1
    before = spun.usage["max_rss_kb"]
    grown = pool.invoke({"action": "allocate", "mb": 64})
    assert grown.usage["max_rss_kb"] >= before + 60 * 1024

    usage = pool.usage.snapshot(reset=True)
    assert usage["invocations"] == 3
    assert usage["wall_ms"] == [slept.usage["wall_ms"], spun.usage["wall_ms"], grown.usage["wall_ms"]]
    assert usage["cpu_ms"] == [slept.usage["cpu_ms"], spun.usage["cpu_ms"], grown.usage["cpu_ms"]]
    assert usage["peak_rss_kb"] == grown.usage["max_rss_kb"]
    assert usage["records"] == [1, 1, 1]
    assert pool.usage.snapshot() == {"invocations": 0, "wall_ms": [], "cpu_ms": [], "records": [], "peak_rss_kb": 0}


def test_a_batch_is_measured_with_its_size(pool: FunctionPool) -> None:
    pool.invoke({"Records": [{"body": "1"}, {"body": "2"}, {"body": "3"}]})
    assert pool.usage.snapshot()["records"] == [3]


def test_a_failed_invocation_is_measured_too(pool: FunctionPool) -> None:
    failed = pool.invoke({"action": "raise"})
    assert failed.status == "error" and failed.usage["wall_ms"] >= 0
    assert pool.usage.snapshot()["invocations"] == 1


def test_a_timeout_kills_the_sandbox_and_the_next_invocation_starts_cold(pool: FunctionPool) -> None:
    pool.invoke({})
    timed_out = pool.invoke({"action": "sleep", "seconds": 30})
    assert timed_out.status == "timeout"
    assert timed_out.error["errorMessage"] == "Task timed out after 2.00 seconds"
    assert pool.invoke({}).result["count"] == 1  # a fresh sandbox


def test_an_exiting_handler_fails_and_is_replaced(pool: FunctionPool) -> None:
    exited = pool.invoke({"action": "exit"})
    assert exited.status == "error" and exited.error["errorType"] == "Runtime.ExitError"
    assert pool.invoke({}).ok


def test_a_result_that_is_not_json_is_a_marshal_error(pool: FunctionPool) -> None:
    failed = pool.invoke({"action": "unencodable"})
    assert failed.error["errorType"] == "Runtime.MarshalError"


def test_an_import_error_fails_every_invocation_with_its_cause(tmp_path: Path, output: io.StringIO) -> None:
    spec = spec_for(tmp_path, "import not_installed_anywhere\n")
    pool = FunctionPool(spec, worker_environment(spec, endpoint="http://x", verbose=False), Console(stream=output))
    pool.start()
    try:
        pool.wait_ready()
        assert pool.ready and "not_installed_anywhere" in (pool.init_error or "")
        failed = pool.invoke({})
        assert failed.error["errorType"] == "Runtime.ImportModuleError"
        assert "init failed" in output.getvalue()
    finally:
        pool.stop()


def test_verbose_keeps_the_template_log_level(tmp_path: Path) -> None:
    env = worker_environment(spec_for(tmp_path), endpoint="http://x", verbose=True, extra={"EXTRA": "1"})
    assert env["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert env["EXTRA"] == "1"
    assert "127.0.0.1" in env["NO_PROXY"]


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ('{"level":"WARNING","message":"webhook refused"}', True),
        ('{"level":"ERROR","message":"boom"}', True),
        ('{"level":"INFO","message":"order placed"}', False),
        ('{"level":"DEBUG","message":"x"}', False),
        (json.dumps({"_aws": {"CloudWatchMetrics": []}, "OrderPlaced": [1]}), False),
        ("Traceback (most recent call last):", True),
        ("/x.py:1: UserWarning: careful", True),
        ("[ERROR] 2026-01-01 something", True),
        ("hello from print", False),
    ],
)
def test_without_verbose_only_warnings_and_worse_reach_the_console(line: str, shown: bool) -> None:
    assert is_warning_or_worse(line) is shown


def test_the_runtime_imports_only_the_standard_library() -> None:
    # A worker's cold start must be the function's own, not the runner's.
    import subprocess

    code = (
        "import sys, commerce_hub.local.runtime; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'samtranslator', 'moto')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
