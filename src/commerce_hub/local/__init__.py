"""The local stack: template.yaml running on this machine, with moto standing in for AWS.

`LocalStack` (in `stack.py`) is the entry point for tests, benchmarks and `commerce-hub local`.
Attributes are imported on first use, so a function worker, which imports
`commerce_hub.local.runtime`, never pays for boto3 or the SAM translator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import LocalStackError
    from .stack import LocalStack

__all__ = ["LocalStack", "LocalStackError"]


def __getattr__(name: str) -> Any:
    if name == "LocalStack":
        from .stack import LocalStack

        return LocalStack
    if name == "LocalStackError":
        from .errors import LocalStackError

        return LocalStackError
    raise AttributeError(name)
