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

from hub.adapters.keys import PRIVACY
from hub.adapters.table import Table, key, typed
from hub.errors import StoreError
from hub.ports import ContactRecord

__all__ = ["DynamoContactRegistry"]


def _pk(customer: str) -> str:
    return PRIVACY(f"customer:{customer}")


class DynamoContactRegistry:
    def __init__(self, client: Any, table_name: str) -> None:
        self._table = Table(client, table_name)

    def record_contact(self, contact: ContactRecord) -> None:
        self._table.update(
            _pk(contact.customer),
            f"CONTACT#{contact.system}#{contact.contact_id}",
            "SET kind = :kind, #system = :system, contact_id = :id",
            {":kind": "downstream_contact", ":system": contact.system, ":id": contact.contact_id},
            what=f"record a {contact.system} contact for erasure",
            names={"#system": "system"},
        )

    def contacts(self, customer: str) -> list[ContactRecord]:
        items = self._table.query(_pk(customer), "CONTACT#", what="read the downstream contacts of a customer")
        return [ContactRecord(customer, i["system"], i["contact_id"]) for i in items]

    def record_deletion(self, contact: ContactRecord, outcome: str, at: datetime) -> None:
        pk = _pk(contact.customer)
        suffix = f"{contact.system}#{contact.contact_id}"
        deleted = {
            "pk": pk,
            "sk": f"DELETED#{suffix}",
            "kind": "downstream_deletion",
            "system": contact.system,
            "contact_id": contact.contact_id,
            "outcome": outcome,
            "deleted_at": at.isoformat(),
        }
        table = self._table.name
        reasons = self._table.transact(
            [
                {"Put": {"TableName": table, "Item": typed(deleted)}},
                {"Delete": {"TableName": table, "Key": key(pk, f"CONTACT#{suffix}")}},
            ],
            what=f"record the deletion of a {contact.system} contact",
        )
        if reasons is not None:
            raise StoreError(f"could not record the deletion of a {contact.system} contact: {', '.join(reasons)}")
