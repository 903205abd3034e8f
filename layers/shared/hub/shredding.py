"""Crypto-shredding: personal fields of events travel sealed under a per-subject data key.

Every copy of an event the hub cannot reach to delete (the EventBridge archive, queue and
dead-letter copies, claim-checked payloads in S3) carries a customer's personal fields only as
AES-256-GCM ciphertext under a data key of its own. The key, wrapped by KMS, is kept in the hub
table (`DEK#<subject>`); erasing the customer deletes it, and every copy becomes unreadable at once.

- The fields marked personal in `hub.events` (`PERSONAL`) are sealed by the publisher into
  `{"enc": "v1", "subject": ..., "ct": ...}`; the associated data binds the subject and the
  field's path, so a ciphertext cannot be moved to another field or another customer.
- The subject is the customer (their normalised email) when the event names one, else the order,
  else the channel: whoever an erasure names finds the key it must delete. Subjects are HMACs
  (`DataKeys.subject_of`), never the email itself.
- Opening happens where events are parsed (`hub.events.parse_event`, `hub.bus.HubBusEvent`), the
  same place for every consumer. A subject whose key is gone opens to None: the event reads as
  one whose customer was erased, never as an error.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from hub.errors import SealError

if TYPE_CHECKING:
    from hub.ports import DataKeys

__all__ = [
    "SEALED_VERSION",
    "Sealer",
    "data_keys",
    "is_sealed",
    "open_sealed",
    "open_value",
    "seal_value",
    "use_data_keys",
]

SEALED_VERSION = "v1"
_NONCE_BYTES = 12


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and value.get("enc") == SEALED_VERSION and set(value) == {"enc", "subject", "ct"}


def _aad(subject: str, field: str) -> bytes:
    return f"{SEALED_VERSION}\x1f{subject}\x1f{field}".encode()


def seal_value(value: Any, key: bytes, subject: str, field: str) -> dict[str, str]:
    """One JSON value sealed under `key`, bound to its subject and field path."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(_NONCE_BYTES)
    plain = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    sealed = AESGCM(key).encrypt(nonce, plain, _aad(subject, field))
    return {"enc": SEALED_VERSION, "subject": subject, "ct": base64.b64encode(nonce + sealed).decode()}


def open_value(sealed: dict[str, str], key: bytes, field: str) -> Any:
    """The JSON value a sealed form holds; SealError if it was altered or belongs elsewhere."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = base64.b64decode(sealed["ct"], validate=True)
        plain = AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _aad(sealed["subject"], field))
    except (InvalidTag, ValueError) as exc:
        raise SealError(f"the sealed value at {field} does not open with its subject's key") from exc
    return json.loads(plain)


# ---------------------------------------------------------------------- the process's key store

_keys: DataKeys | None = None
_resolved = False


def use_data_keys(keys: DataKeys | None) -> None:
    """Set the key store events are opened with (tests hand in a fake); None: back to the default."""
    global _keys, _resolved
    _keys, _resolved = keys, keys is not None


def data_keys() -> DataKeys | None:
    """The key store of this sandbox, built on first use from the environment (HUB_DATA_KEY_ID)."""
    global _keys, _resolved
    if not _resolved:
        from hub.adapters.data_keys import default_data_keys

        _keys, _resolved = default_data_keys(), True
    return _keys


def _contains_sealed(node: Any) -> bool:
    if isinstance(node, dict):
        return is_sealed(node) or any(_contains_sealed(v) for v in node.values())
    if isinstance(node, list):
        return any(_contains_sealed(v) for v in node)
    return False


def open_sealed(event: Any) -> Any:
    """The event's JSON form with every sealed value opened (None where its subject's key is gone).

    An event with nothing sealed is returned as is, without touching the key store.
    """
    if not _contains_sealed(event):
        return event
    keys = data_keys()
    if keys is None:
        raise SealError("an event carries sealed personal data but no data key store is configured (HUB_DATA_KEY_ID)")
    return _open(event, keys, "")


def _open(node: Any, keys: DataKeys, path: str) -> Any:
    if isinstance(node, dict):
        if is_sealed(node):
            key = keys.key_if_any(node["subject"])
            return None if key is None else open_value(node, key, path)
        return {k: _open(v, keys, f"{path}.{k}" if path else k) for k, v in node.items()}
    if isinstance(node, list):
        return [_open(v, keys, f"{path}[]") for v in node]
    return node


class Sealer:
    """Seals the personal fields of an event's JSON form under its subject's data key."""

    def __init__(self, keys: DataKeys, personal_paths: Callable[[str], Iterable[str]]) -> None:
        self._keys = keys
        self._paths = personal_paths

    def seal(self, event: dict[str, Any]) -> dict[str, Any]:
        """A copy of the event (its `model_dump(mode="json")`) with its personal fields sealed."""
        paths = [p for p in self._paths(event["type"]) if _get(event, p) is not None]
        if not paths:
            return event
        subject = self.subject(event)
        key = self._keys.key_for(subject)
        sealed = json.loads(json.dumps(event))
        for path in paths:
            value = _get(sealed, path)
            if not is_sealed(value):
                _set(sealed, path, seal_value(value, key, subject, path))
        return sealed

    def subject(self, event: dict[str, Any]) -> str:
        """Whoever an erasure names: the customer by email, else the order, else the channel."""
        data = event.get("data") or {}
        email = data.get("customer_email") or data.get("email")
        if isinstance(email, str) and email.strip():
            return self._keys.subject_of("customer", email.strip().lower())
        if isinstance(data.get("order_id"), str):
            return self._keys.subject_of("order", data["order_id"])
        return self._keys.subject_of("channel", str(event.get("channel", "")))


def _get(document: dict[str, Any], path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _set(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node[part]
    node[last] = value
