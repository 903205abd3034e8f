"""`commerce-hub local`: start the local stack in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .errors import LocalStackError

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, help="project folder holding template.yaml (default: found upwards)")
    parser.add_argument("--port", type=int, help="HTTP API port (default $HUB_PORT or 3000; 0 picks a free one)")
    parser.add_argument("--aws-port", type=int, help="AWS emulator port (default $HUB_AWS_PORT or 4566)")
    parser.add_argument("--workers", type=int, help="worker processes per function (default $HUB_LOCAL_WORKERS or 1)")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show every function log line and keep the template's log level"
    )


def _banner(stack: object) -> str:
    from .stack import LocalStack

    assert isinstance(stack, LocalStack)
    lines = [
        "Commerce Hub local stack is up.",
        f"  HTTP API      {stack.url}",
        f"  AWS emulator  {stack.aws_endpoint}   (aws --endpoint-url {stack.aws_endpoint} ...)",
    ]
    if stack.token_generated:
        lines.append(f"  API token     {stack.api_token}   (set HUB_API_TOKEN to choose your own)")
        lines.append("                saved in .commerce-hub/api-token, where `send` and `demo` find it")
    lines.append(f"  config        {stack.config_path}")
    lines.append("  routes:")
    for route in sorted(stack.routes, key=lambda r: (r.path, r.method)):
        auth = "" if route.authorization == "NONE" else "   [bearer token]"
        lines.append(
            f"    {route.method:<6} {stack.url}{route.path:<28} -> {stack.function_name(route.function)}{auth}"
        )
    if stack.event_sources:
        lines.append("  queues:")
        for source in stack.event_sources:
            lines.append(f"    {source.queue_name:<36} -> {stack.function_name(source.function)}")
    if stack.schedules:
        lines.append("  schedules:")
        for spec in stack.schedules:
            state = "" if spec.enabled else "   (disabled)"
            lines.append(
                f"    {spec.expression_text:<36} -> {stack.function_name(spec.function)}   [{spec.logical_id}]{state}"
            )
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _token_path(root: Path) -> Path:
    from commerce_hub.client import token_file

    return token_file(root)


def _save_token(root: Path, token: str) -> Path:
    """Leave a generated token where `commerce-hub send` and `demo` look for it (owner-only)."""
    path = _token_path(root)
    path.parent.mkdir(exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(token + "\n", encoding="utf-8")
    return path


def _forget_token(path: Path, token: str) -> None:
    # Only our own token: a second stack started meanwhile may have written its own.
    try:
        if path.read_text(encoding="utf-8").strip() == token:
            path.unlink()
            path.parent.rmdir()  # only if nothing else lives there
    except OSError:
        pass


def main(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Signals only set a flag: the main thread stops everything in order and exits 0.
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        from .stack import LocalStack

        print("Starting the Commerce Hub local stack...", flush=True)
        stack = LocalStack(
            args.root,
            http_port=args.port,
            aws_port=args.aws_port,
            verbose=args.verbose,
            pool_size=args.workers,
        )
        start_error: list[BaseException] = []

        def start() -> None:
            try:
                stack.start()
            except BaseException as exc:
                start_error.append(exc)
            finally:
                started.set()

        started = threading.Event()
        threading.Thread(target=start, name="start", daemon=True).start()
        while not started.wait(0.2):
            if stop.is_set():
                print("\nStopping...", flush=True)
                stack.stop()  # makes the start fail fast
                started.wait(60)
                stack.stop()  # and cleans up whatever it created meanwhile
                print("Stopped.", flush=True)
                return 0
        if start_error:
            raise start_error[0]
        token_path = _save_token(stack.root, stack.api_token) if stack.token_generated else None
        print(_banner(stack), flush=True)
        while not stop.wait(1):
            pass
        print("\nStopping...", flush=True)
        stack.stop()
        if token_path is not None:
            _forget_token(token_path, stack.api_token)
        print("Stopped.", flush=True)
        return 0
    except LocalStackError as exc:
        print(f"commerce-hub local: {exc}", file=sys.stderr, flush=True)
        return 2
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
