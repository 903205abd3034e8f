"""One cold sandbox: import a handler (or only boto3, for the floor) and serve one signed webhook.

Run by bench.cold_webhook in a fresh interpreter; prints its timings as JSON.
"""

from __future__ import annotations

import json
import sys
import time

START = time.perf_counter()


def main() -> None:
    mode, event_path = sys.argv[1], sys.argv[2]
    event = json.loads(open(event_path).read())  # noqa: SIM115
    if mode == "handler":
        sys.path.insert(0, "functions/webhook_intake")
        import app  # the handler module, as Lambda imports it

        imported = time.perf_counter()
        response = app.lambda_handler(event, _Context())
        assert response["statusCode"] == 200, response
    else:
        from bench.intake import floor_once

        imported = time.perf_counter()
        floor_once(event)
    done = time.perf_counter()
    print(json.dumps({"import_ms": (imported - START) * 1000, "first_call_ms": (done - imported) * 1000}))


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench-cold"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


if __name__ == "__main__":
    main()
