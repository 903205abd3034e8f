"""The AWS emulator: moto in server mode as a child process, and boto3 clients pointed at it.

A child process, not a thread, so the emulator never competes with the HTTP server, pollers and the
runner for one GIL. `aws --endpoint-url http://127.0.0.1:PORT` reaches it like any other client.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from .errors import LocalStackError

__all__ = ["ACCOUNT_ID", "DUMMY_CREDENTIALS", "REGION", "Emulator", "aws_client"]

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
_STARTUP_SECONDS = 60


def aws_client(service: str, endpoint: str, app_id: str | None = None) -> Any:
    """A boto3 client for the emulator, independent of the developer's own AWS profile and region.

    `app_id` goes into the User-Agent (`app/<id>`), so the emulator's call counts name this caller.
    """
    session = boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=REGION,
    )
    config = Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=32, user_agent_appid=app_id)
    return session.client(service, endpoint_url=endpoint, config=config)


class Emulator:
    """moto server as a child process on 127.0.0.1; port 0 lets the child pick a free port."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1", on_output: Callable[[str], None] | None = None) -> None:
        self.host = host
        self._on_output = on_output
        self.requested_port = port
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._startup_output: list[str] = []

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise LocalStackError("the AWS emulator has not started")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise LocalStackError("the AWS emulator has not started")
        return self._process.pid

    def start(self) -> None:
        """Spawn the child; `wait_ready` returns once it listens."""
        env = dict(os.environ)
        env.update(DUMMY_CREDENTIALS)
        env["AWS_DEFAULT_REGION"] = REGION
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("MOTO_PORT", None)
        self._process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-m", "commerce_hub.local.emulator_server", self.host, str(self.requested_port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            # Its own session: Ctrl-C in the terminal reaches the runner only, which stops the
            # emulator last, after the functions no longer need it.
            start_new_session=True,
        )
        threading.Thread(target=self._read_output, name="emulator-output", daemon=True).start()

    def _read_output(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for raw in self._process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            if not self._ready.is_set():
                if line.startswith("READY "):
                    self.port = int(line.split()[1])
                    self._ready.set()
                else:
                    self._startup_output.append(line)
            # Later output (moto's own errors) is rare and useful: to the stack's console, else stderr.
            elif line and self._on_output is not None:
                self._on_output(line)
            elif line:
                print(f"[aws emulator] {line}", file=sys.stderr, flush=True)

    def wait_ready(self, timeout: float = _STARTUP_SECONDS) -> None:
        assert self._process is not None
        deadline = timeout
        while not self._ready.wait(0.05):
            deadline -= 0.05
            if self._process.poll() is not None or deadline <= 0:
                detail = "\n".join(self._startup_output[-20:])
                what = "exited" if self._process.poll() is not None else "did not start in time"
                self.stop()
                if "Address already in use" in detail:
                    raise LocalStackError(
                        f"port {self.requested_port} is in use, so the AWS emulator cannot listen on it; "
                        "stop what uses it or set HUB_AWS_PORT to another port"
                    )
                raise LocalStackError(
                    f"the AWS emulator (moto server on {self.host}:{self.requested_port}) {what}"
                    + (f":\n{detail}" if detail else "")
                )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
