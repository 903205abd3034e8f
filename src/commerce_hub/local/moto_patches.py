"""A patch the local stack applies to moto: DynamoDB transactions undo by item, not by table copy.

moto's `DynamoDBBackend.transact_write_items` keeps its rollback state by deep-copying every table a
transaction touches, once per transaction item, before it writes. With the hub's one table holding
every order, each transaction then costs time and memory in proportion to all the data ever written
(a transaction of 90 reservations copies the whole table 90 times), so the emulator slows down and
grows with the square of the orders.

This patch keeps moto's own transaction code (conditions, cancellation reasons, validation, the
order of operations) and changes only how it rolls back: while a transaction runs, tables are not
copied; instead each write (put, update, delete) first records the one item it is about to change
(a copy of that item, or "absent"), and when moto cancels the transaction those items are put back
in reverse order. Untouched items are never copied.

Proposed upstream (moto's dynamodb backend), as a comment here since its tracker is out of reach:
  "transact_write_items: replace the per-item `copy.deepcopy(self.tables[table_name])` rollback
  snapshot with a journal of the items the transaction writes (key -> previous item or absent),
  restored in reverse on cancellation. The snapshot makes every transaction O(table size) in time
  and memory, and is taken once per transaction item, not once per table."

The emulator serves DynamoDB requests one at a time (see emulator_server), so a transaction's
journal cannot interleave with another request's writes.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["install", "installed"]

_MARK = "_commerce_hub_item_journal"


def installed() -> bool:
    from moto.dynamodb.models import DynamoDBBackend

    return getattr(DynamoDBBackend.transact_write_items, _MARK, False)


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    if installed():
        return
    original = DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        journal: list[tuple[str, dict[str, Any], Any]] = []
        with _tables_not_copied(), _journaling(self, journal):
            try:
                return original(self, transact_items)
            except BaseException:
                _undo(self, journal)
                raise

    setattr(transact_write_items, _MARK, True)
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


@contextmanager
def _tables_not_copied() -> Iterator[None]:
    """moto's snapshot becomes the table itself: its rollback assignment is then a no-op."""
    from moto.dynamodb.models.table import Table

    had = "__deepcopy__" in Table.__dict__
    previous = Table.__dict__.get("__deepcopy__")
    Table.__deepcopy__ = lambda table, memo: table  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if had:
            Table.__deepcopy__ = previous  # type: ignore[attr-defined]
        else:
            del Table.__deepcopy__  # type: ignore[attr-defined]


@contextmanager
def _journaling(backend: Any, journal: list[tuple[str, dict[str, Any], Any]]) -> Iterator[None]:
    """Record, before each write the transaction makes, the item it is about to change."""

    def recording(write: Callable[..., Any], key_of: Callable[[Any, dict[str, Any]], dict[str, Any]]) -> Callable:
        def wrapper(table_name: str, first: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            table = backend.get_table(table_name)
            key = key_of(table, first)
            before = backend.get_item(table_name, key)
            journal.append((table_name, key, copy.deepcopy(before) if before is not None else None))
            return write(table_name, first, *args, **kwargs)

        return wrapper

    def key_of_item(table: Any, attrs: dict[str, Any]) -> dict[str, Any]:
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key

    def key_as_given(_table: Any, key: dict[str, Any]) -> dict[str, Any]:
        return key

    names = {"put_item": key_of_item, "update_item": key_as_given, "delete_item": key_as_given}
    for name, key_of in names.items():
        setattr(backend, name, recording(getattr(backend, name), key_of))
    try:
        yield
    finally:
        for name in names:
            delattr(backend, name)  # the class's own method again


def _undo(backend: Any, journal: list[tuple[str, dict[str, Any], Any]]) -> None:
    for table_name, key, before in reversed(journal):
        table = backend.get_table(table_name)
        hash_key, range_key = backend.get_keys_value(table, key)
        if before is None:
            try:
                if range_key is not None:
                    table.items[hash_key].pop(range_key)
                else:
                    table.items.pop(hash_key)
            except KeyError:
                pass
        elif range_key is not None:
            table.items[hash_key][range_key] = before
        else:
            table.items[hash_key] = before
