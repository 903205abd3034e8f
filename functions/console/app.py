"""console: the web console at /console (orders, their timeline and lineage) behind a token login.

Routing only: the sign-in, the pages and their templates are in hub.console (docs/console.md).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext
from hub.bootstrap import Sandbox
from hub.console.app import Console
from hub.console.auth import Sessions, secret_token
from hub.observability import logger

sandbox = Sandbox()
console = Console(sandbox, Sessions(secret_token))


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return console.handle(event)
