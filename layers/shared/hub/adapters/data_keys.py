"""Data keys for crypto-shredding (hub.shredding): KMS-wrapped AES-256 keys in the hub table.

| pk | sk | what |
|---|---|---|
| `DEK#<subject>` | `KEY` | the subject's data key, wrapped by the hub's KMS key (encryption context: the subject) |
| `DEK#salt` | `SALT` | the secret that names subjects (HMAC of the email, order id or channel), generated once |

AWS calls: a sandbox keeps plaintext keys in memory for `ttl` seconds, so one customer's order,
followed by its payment and the consumers' reads, costs each function one GetItem and one
KMS Decrypt per customer per `ttl` (the first ever: GenerateDataKey and one conditional PutItem).
A forgotten key can be used for at most `ttl` seconds by a sandbox that had already opened it;
the absence of a key is never cached, so a customer's new key is seen at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.adapters.keys import DEK
from hub.adapters.table import Table
from hub.errors import StoreError

__all__ = ["KmsDataKeys", "default_data_keys"]

_TTL_SECONDS = 300.0
_KEY_SK = "KEY"


class KmsDataKeys:
    """`hub.ports.DataKeys` on KMS and DynamoDB. `kms` and `dynamodb` are boto3 clients."""

    def __init__(
        self,
        kms: Any,
        dynamodb: Any,
        table: str,
        key_id: str,
        *,
        ttl: float = _TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kms = kms
        self._table = Table(dynamodb, table)
        self._key_id = key_id
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, bytes]] = {}
        self._salt: bytes | None = None

    # ------------------------------------------------------------------ names
    def subject_of(self, kind: str, value: str) -> str:
        digest = hmac.new(self._subject_salt(), f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}:{digest[:40]}"

    def _subject_salt(self) -> bytes:
        if self._salt is None:
            item = self._get(DEK("salt"), "SALT")
            if item is None:
                fresh = {"pk": DEK("salt"), "sk": "SALT", "kind": "data_key_salt", "salt": secrets.token_hex(32)}
                self._put_once(fresh)
                item = self._get(DEK("salt"), "SALT")
                if item is None:
                    raise StoreError("the data key salt could not be read back")
            self._salt = bytes.fromhex(item["salt"])
        return self._salt

    # ------------------------------------------------------------------ keys
    def key_for(self, subject: str) -> bytes:
        key = self._cached(subject)
        if key is not None:
            return key
        key = self._read(subject)
        if key is None:
            key = self._create(subject)
        self._cache[subject] = (self._clock() + self._ttl, key)
        return key

    def key_if_any(self, subject: str) -> bytes | None:
        key = self._cached(subject)
        if key is not None:
            return key
        key = self._read(subject)
        if key is not None:
            # Absence is never cached: a customer who comes back after their erasure gets a new key,
            # and every sandbox must read it at once.
            self._cache[subject] = (self._clock() + self._ttl, key)
        return key

    def forget(self, subject: str) -> None:
        self._table.delete(DEK(subject), _KEY_SK, what=f"delete the data key of {subject}")
        self._cache.pop(subject, None)

    def _cached(self, subject: str) -> bytes | None:
        hit = self._cache.get(subject)
        return hit[1] if hit is not None and hit[0] > self._clock() else None

    def _read(self, subject: str) -> bytes | None:
        item = self._get(DEK(subject), _KEY_SK)
        if item is None:
            return None
        return self._unwrap(subject, item["wrapped"].value)

    def _create(self, subject: str) -> bytes:
        try:
            made = self._kms.generate_data_key(
                KeyId=self._key_id, KeySpec="AES_256", EncryptionContext={"subject": subject}
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"KMS could not make a data key: {exc}") from exc
        item = {
            "pk": DEK(subject),
            "sk": _KEY_SK,
            "kind": "data_key",
            "wrapped": made["CiphertextBlob"],
            "created_at": datetime.now(UTC).isoformat(),
        }
        if self._put_once(item):
            return made["Plaintext"]
        # Another writer made the subject's key first: everyone uses that one.
        winner = self._read(subject)
        if winner is None:
            raise StoreError(f"the data key of {subject} was forgotten while it was being made")
        return winner

    def _unwrap(self, subject: str, wrapped: bytes) -> bytes:
        try:
            # Naming the key, as AWS advises: KMS then refuses a blob wrapped by any other key, and the
            # grant can name this key alone.
            return self._kms.decrypt(
                KeyId=self._key_id, CiphertextBlob=wrapped, EncryptionContext={"subject": subject}
            )["Plaintext"]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"KMS could not unwrap a data key: {exc}") from exc

    # ------------------------------------------------------------------ table
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self._table.get(pk, sk, what="read a data key")

    def _put_once(self, item: dict[str, Any]) -> bool:
        return self._table.put(item, what="keep a data key", condition="attribute_not_exists(pk)")


def default_data_keys() -> KmsDataKeys | None:
    """The sandbox's key store when the template names a KMS key (HUB_DATA_KEY_ID), else None."""
    from hub.settings import settings

    env = settings()
    if not env.data_key_id:
        return None
    import boto3

    return KmsDataKeys(boto3.client("kms"), boto3.client("dynamodb"), env.table, env.data_key_id)
