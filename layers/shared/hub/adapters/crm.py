"""The CRM client the configuration names, with its credentials from the hub secret.

HubSpot: HUBSPOT_ACCESS_TOKEN (a private app token with crm.objects.contacts.write).
Salesforce: SALESFORCE_INSTANCE_URL (the org's My Domain URL, https://<domain>.my.salesforce.com, or
a sandbox's https://<domain>--<sandbox>.sandbox.my.salesforce.com) with SALESFORCE_CLIENT_ID and
SALESFORCE_CLIENT_SECRET (OAuth 2.0 client credentials: the hub gets and renews its own session), or
else SALESFORCE_ACCESS_TOKEN (a static token, never renewed: it expires with the org's session).
`crm.api_url` replaces the base URL (a fake API in tests).
"""

from __future__ import annotations

import httpx

from hub.adapters.http import outbound_client
from hub.adapters.hubspot import HubSpotClient
from hub.adapters.salesforce import ClientCredentials, SalesforceAuth, SalesforceClient, StaticToken
from hub.config import CrmConfig
from hub.errors import CrmSetupError
from hub.ports import CrmClient
from hub.secrets import SecretsProvider

__all__ = ["crm_client"]

HUBSPOT_URL = "https://api.hubapi.com"


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
        base = crm.api_url or _required(secrets, "SALESFORCE_INSTANCE_URL")
        session = _salesforce_session(base, secrets, transport)
        http = outbound_client(base, auth=SalesforceAuth(session), transport=transport)
        target = crm.salesforce
        return SalesforceClient(
            http,
            sobject=target.object,
            external_id_field=target.external_id_field,
            api_version=target.api_version,
            renewable=session.renewable,
            create_defaults=crm.salesforce_create_defaults(),
        )
    return None


def _salesforce_session(
    base: str, secrets: SecretsProvider, transport: httpx.BaseTransport | None
) -> ClientCredentials | StaticToken:
    """Client credentials when the secret has them; else a static access token; else name what is missing."""
    client_id, client_secret = secrets.get("SALESFORCE_CLIENT_ID"), secrets.get("SALESFORCE_CLIENT_SECRET")
    if client_id and client_secret:
        return ClientCredentials(base, client_id, client_secret, transport=transport)
    token = secrets.get("SALESFORCE_ACCESS_TOKEN")
    if token and not (client_id or client_secret):
        return StaticToken(token)
    missing = "SALESFORCE_CLIENT_SECRET" if client_id else "SALESFORCE_CLIENT_ID" if client_secret else None
    if missing:
        raise CrmSetupError(f"the hub secret has no {missing}; the Salesforce client credentials need both")
    raise CrmSetupError(
        "the hub secret has no SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (or SALESFORCE_ACCESS_TOKEN); "
        "the CRM cannot be called"
    )
