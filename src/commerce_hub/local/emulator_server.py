"""Entry point of the emulator child process: moto in server mode, quiet, on a given port.

Run as `python -m commerce_hub.local.emulator_server HOST PORT`. It binds first (PORT 0 picks a free
port, without the race of probing one in the parent), then prints one line `READY <port>` on stdout
so the parent knows where it listens. It exits when its stdin closes, so an emulator never outlives
a runner that was killed without a chance to stop it.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any


def _exit_when_parent_goes() -> None:
    try:
        sys.stdin.buffer.read()
    finally:
        os._exit(0)


class _OneDynamoDBRequestAtATime:
    """moto's DynamoDB is not thread-safe: a transaction deep-copies the tables it touches while other
    request threads write to them ("dictionary changed size during iteration"). DynamoDB requests are
    handled one at a time, as DynamoDB itself orders them; every other service stays concurrent."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


def main(argv: list[str]) -> None:
    host, port = argv[0], int(argv[1])
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from commerce_hub.local import moto_patches
    from commerce_hub.local.calls import CallCounter

    # Transactions undo by item instead of copying whole tables (see moto_patches).
    moto_patches.install()

    class QuietRequestHandler(MotoRequestHandler):
        # One log line per AWS call drowns the runner's own console; errors still reach stderr.
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return

    # The counter sits inside the DynamoDB lock: it reads the items a request writes before and after it.
    app = _OneDynamoDBRequestAtATime(CallCounter(DomainDispatcherApplication(create_backend_app)))
    server = make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)
    actual_port = server.server_address[1]
    # moto builds some URLs (queue URLs among them) from MOTO_PORT; it must be the real port.
    os.environ["MOTO_PORT"] = str(actual_port)
    threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    print(f"READY {actual_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
