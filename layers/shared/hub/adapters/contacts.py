"""The contacts the hub created downstream, per customer, on DynamoDB (`hub.ports.ContactRegistry`).

Items live beside the customer's privacy records, under the erasure key:
- `PRIVACY#customer:<erasure key>` / `CONTACT#<system>#<id>`: a record the hub created or updated
  in HubSpot, Salesforce, Klaviyo or Mailchimp, not deleted yet;
- `PRIVACY#customer:<erasure key>` / `DELETED#<system>#<id>`: what an erasure deleted there, when,
  and whether it was still there (`deleted`) or already gone (`gone`).

Neither holds an email, a name or a hash of one: the ids are the vendor's own opaque ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.errors import StoreError
from hub.ports import ContactRecord

__all__ = ["DynamoContactRegistry"]


def _pk(customer: str) -> str:
    return f"PRIVACY#customer:{customer}"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


class DynamoContactRegistry:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def record_contact(self, contact: ContactRecord) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(_pk(contact.customer), f"CONTACT#{contact.system}#{contact.contact_id}"),
                UpdateExpression="SET kind = :kind, #system = :system, contact_id = :id",
                ExpressionAttributeNames={"#system": "system"},
                ExpressionAttributeValues={
                    ":kind": {"S": "downstream_contact"},
                    ":system": {"S": contact.system},
                    ":id": {"S": contact.contact_id},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not record a {contact.system} contact for erasure: {exc}") from exc

    def contacts(self, customer: str) -> list[ContactRecord]:
        items: list[dict[str, Any]] = []
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": _pk(customer)}, ":prefix": {"S": "CONTACT#"}},
            "ConsistentRead": True,
        }
        try:
            while True:
                page = self._client.query(**arguments)
                items += page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    break
                arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not read the downstream contacts of a customer: {exc}") from exc
        return [ContactRecord(customer, i["system"]["S"], i["contact_id"]["S"]) for i in items]

    def record_deletion(self, contact: ContactRecord, outcome: str, at: datetime) -> None:
        pk = _pk(contact.customer)
        suffix = f"{contact.system}#{contact.contact_id}"
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {
                                **_key(pk, f"DELETED#{suffix}"),
                                "kind": {"S": "downstream_deletion"},
                                "system": {"S": contact.system},
                                "contact_id": {"S": contact.contact_id},
                                "outcome": {"S": outcome},
                                "deleted_at": {"S": at.isoformat()},
                            },
                        }
                    },
                    {"Delete": {"TableName": self._table, "Key": _key(pk, f"CONTACT#{suffix}")}},
                ]
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"could not record the deletion of a {contact.system} contact: {exc}") from exc
