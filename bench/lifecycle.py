"""From a paid order to `fulfilling` through the local stack: intake -> stock_updates (recorded,
reserved) -> OrderStatusChanged -> order_routing (location chosen, fulfilment recorded)."""

from __future__ import annotations

from typing import Any

from bench.completions import FULFILLING
from bench.through_stack import drive


def run(stack: Any, orders: int = 100, senders: int = 4) -> dict:
    return drive(stack, orders, senders, FULFILLING, offset=500)
