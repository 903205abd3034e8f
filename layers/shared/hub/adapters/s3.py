"""The payload store for claim-checked events, on S3."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.errors import PublishError, StoreError

__all__ = ["S3PayloadStore"]


class S3PayloadStore:
    """`client` is a factory: the S3 client is only built when an event is large enough to need it."""

    def __init__(self, client: Callable[[], Any], bucket: str) -> None:
        self._factory = client
        self._bucket = bucket

    @cached_property
    def _client(self) -> Any:
        return self._factory()

    def put(self, key: str, body: bytes) -> str:
        try:
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentType="application/json", ServerSideEncryption="AES256"
            )
        except (ClientError, BotoCoreError) as exc:
            raise PublishError(f"could not store a large event in {self._bucket}: {exc}") from exc
        return self._bucket

    def get(self, location: str, key: str) -> bytes:
        try:
            return self._client.get_object(Bucket=location, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read a claim-checked event {key}: {exc}") from exc

    def delete_prefix(self, prefix: str) -> int:
        deleted = 0
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    answer = self._client.delete_objects(Bucket=self._bucket, Delete={"Objects": keys, "Quiet": True})
                    if answer.get("Errors"):
                        raise StoreError(f"could not delete {len(answer['Errors'])} objects under {prefix}")
                    deleted += len(keys)
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not delete the objects under {prefix}: {exc}") from exc
        return deleted
