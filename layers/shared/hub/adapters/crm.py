"""The CRM client the configuration names, with its credentials from the hub secret.

HubSpot: HUBSPOT_ACCESS_TOKEN (a private app token with crm.objects.contacts.write).
Salesforce: SALESFORCE_ACCESS_TOKEN and SALESFORCE_INSTANCE_URL (https://<domain>.my.salesforce.com).
`crm.api_url` replaces the base URL (a fake API in tests).
"""

from __future__ import annotations

import httpx

from hub.adapters.http import outbound_client
from hub.adapters.hubspot import HubSpotClient
from hub.adapters.salesforce import SalesforceClient
from hub.config import CrmConfig
from hub.ports import CrmClient, HubError
from hub.secrets import SecretsProvider

__all__ = ["CrmSetupError", "crm_client"]

HUBSPOT_URL = "https://api.hubapi.com"


class CrmSetupError(HubError):
    """The CRM is configured but cannot be called (a credential is missing); names the key."""


def _required(secrets: SecretsProvider, name: str) -> str:
    value = secrets.get(name)
    if not value:
        raise CrmSetupError(f"the hub secret has no {name}; the CRM cannot be called")
    return value


def crm_client(
    crm: CrmConfig, secrets: SecretsProvider, transport: httpx.BaseTransport | None = None
) -> CrmClient | None:
    if crm.provider == "hubspot":
        token = _required(secrets, "HUBSPOT_ACCESS_TOKEN")
        http = outbound_client(
            crm.api_url or HUBSPOT_URL, headers={"Authorization": f"Bearer {token}"}, transport=transport
        )
        return HubSpotClient(http)
    if crm.provider == "salesforce" and crm.salesforce is not None:
        token = _required(secrets, "SALESFORCE_ACCESS_TOKEN")
        base = crm.api_url or _required(secrets, "SALESFORCE_INSTANCE_URL")
        http = outbound_client(base, headers={"Authorization": f"Bearer {token}"}, transport=transport)
        target = crm.salesforce
        return SalesforceClient(
            http, sobject=target.object, external_id_field=target.external_id_field, api_version=target.api_version
        )
    return None
