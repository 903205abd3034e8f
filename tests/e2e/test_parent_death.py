"""Workers and the emulator end with the process that started them, however it ends.

Each test starts the runner in a child process, lets it get busy, kills it with SIGKILL (no
clean-up runs: what a benchmark killed with SIGTERM leaves too) and waits for every process it had
started to be gone. Linux only: the processes are found and checked through /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")]

ROOT = Path(__file__).resolve().parents[2]
GONE_WITHIN_SECONDS = 5.0


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name, or None once the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw.rsplit(")", 1)[1].split()


def alive(pid: int) -> bool:
    fields = _stat(pid)
    # An orphan that has exited but not been reaped yet (state Z) is gone for our purpose.
    return fields is not None and fields[0] not in ("Z", "X")


def children_of(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == parent:
                found.add(int(entry.name))
    return found


def survivors(pids: set[int], within: float = GONE_WITHIN_SECONDS) -> set[int]:
    deadline = time.monotonic() + within
    while True:
        left = {pid for pid in pids if alive(pid)}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"


class Runners:
    """Child runners a test starts, and the processes they started; all cleaned up by pid."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        self.started: set[int] = set()

    def clean_up(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        for pid in self.started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def runners() -> Iterator[Runners]:
    tracked = Runners()
    yield tracked
    tracked.clean_up()


def start_runner(runners: Runners, code: str, *args: str) -> tuple[subprocess.Popen[str], set[int]]:
    """Run `code` in a child interpreter, wait for the line `BUSY` it prints once busy; returns the
    child and the processes it has started."""
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    runners.processes.append(process)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("BUSY"):
            runners.started = children_of(process.pid)
            return process, runners.started
    process.wait()
    pytest.fail("the runner ended before it was busy:\n" + "".join(lines[-40:]))


POOL_RUNNER = """
    import sys, threading, time
    from pathlib import Path
    from commerce_hub.local.console import Console
    from commerce_hub.local.functions import FunctionPool, FunctionSpec, worker_environment

    code = Path(sys.argv[1])
    spec = FunctionSpec(
        logical_id="Fn", name="commerce-hub-test-fn",
        arn="arn:aws:lambda:us-east-1:123456789012:function:commerce-hub-test-fn",
        handler="app.handler", code_folder=code, layer_folders=(), timeout=120, memory_mb=128,
        environment={}, log_group="/aws/lambda/commerce-hub-test-fn",
    )
    env = worker_environment(spec, endpoint="http://127.0.0.1:9", verbose=False, host_environ={"PATH": "/usr/bin:/bin"})
    pool = FunctionPool(spec, env, Console(stream=sys.stderr), size=2)
    pool.start()
    pool.wait_ready()
    for _ in range(2):
        threading.Thread(target=pool.invoke, args=({},), daemon=True).start()
    while len(list(code.glob("inside-*"))) < 2:
        time.sleep(0.05)
    print("BUSY", flush=True)
    time.sleep(600)
"""

# A handler in the middle of a long wait: what a worker retrying a vanished emulator looks like.
SLOW_HANDLER = """
import os, pathlib, time

def handler(event, context):
    pathlib.Path(f"inside-{os.getpid()}").touch()
    time.sleep(300)
    return {}
"""


def test_workers_in_the_middle_of_a_handler_exit_when_their_runner_is_killed(tmp_path: Path, runners: Runners) -> None:
    (tmp_path / "app.py").write_text(SLOW_HANDLER)
    process, workers = start_runner(runners, POOL_RUNNER, str(tmp_path))
    busy = {int(path.name.split("-")[1]) for path in tmp_path.glob("inside-*")}
    assert len(workers) == 2 and busy == workers

    process.kill()
    process.wait()

    left = survivors(workers)
    assert not left, [command_line(pid) for pid in left]


STACK_RUNNER = """
    import json, sys, threading, time
    from pathlib import Path
    import httpx
    from commerce_hub.client import sign_delivery
    from commerce_hub.local import LocalStack
    from commerce_hub.local.console import Console

    root = Path(".").resolve()
    sample = json.loads((root / "events" / "payloads" / "shopify_orders_create.json").read_text())
    stack = LocalStack(root, http_port=0, aws_port=0, console=Console(verbose=False, quiet=True))
    stack.start()
    http = httpx.Client(base_url=stack.url, timeout=60)
    sent = []

    def send(first):
        # Orders keep arriving, so functions are in the middle of their work when the runner dies.
        for order_id in range(first, first + 10_000):
            body = json.dumps(dict(sample, id=order_id)).encode()
            delivery = sign_delivery("shopify", body, topic="orders/create", secrets=stack.secrets)
            http.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)
            sent.append(order_id)

    for sender in range(3):
        threading.Thread(target=send, args=(10_000_000 + sender * 100_000,), daemon=True).start()
    while len(sent) < 15:
        time.sleep(0.05)
    print("BUSY", flush=True)
    time.sleep(600)
"""


@pytest.mark.e2e
def test_a_killed_stack_leaves_no_worker_and_no_emulator(runners: Runners) -> None:
    process, started = start_runner(runners, STACK_RUNNER)
    commands = {pid: command_line(pid) for pid in started}
    workers = {pid for pid, line in commands.items() if "commerce_hub.local.runtime" in line}
    emulators = {pid for pid, line in commands.items() if "commerce_hub.local.emulator_server" in line}
    assert len(emulators) == 1 and len(workers) >= 10, commands

    process.kill()
    process.wait()

    left = survivors(started)
    assert not left, [commands[pid] for pid in left]
