"""The channels a marketing configuration names, built once per configuration, credentials read then.

ses -> SesSender (channel `email`); klaviyo -> KlaviyoClient (KLAVIYO_API_KEY); mailchimp ->
MailchimpClient (MAILCHIMP_API_KEY). Email needs MARKETING_UNSUBSCRIBE_SECRET to sign its
unsubscribe links. A missing credential fails the record with the name of the missing key (and no
value), so it is retried and, once fixed, goes through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from hub.adapters.klaviyo import KLAVIYO_METRICS, KlaviyoClient
from hub.adapters.mailchimp import MailchimpClient
from hub.adapters.ses import SesSender
from hub.config import MarketingConfig
from hub.errors import MissingCredentialError
from hub.ports import ActivityTracker, MessageSender

__all__ = ["MarketingChannels"]


class MarketingChannels:
    def __init__(
        self,
        secrets: Any,
        ses_client: Callable[[], Any],
        *,
        default_unsubscribe_url: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`secrets` is a hub.secrets.SecretsProvider; `transport` lets tests hand in httpx.MockTransport."""
        self._secrets = secrets
        self._ses_client = ses_client
        self._default_unsubscribe_url = default_unsubscribe_url
        self._transport = transport
        self._built: dict[str, tuple[list[MessageSender], KlaviyoClient | None]] = {}

    def _secret(self, name: str) -> str:
        values = self._secrets.candidates(name)
        if not values:
            raise MissingCredentialError(f"{name} is not in the hub secret; the marketing configuration needs it")
        return values[-1]  # the newest, during a rotation

    def _build(self, marketing: MarketingConfig) -> tuple[list[MessageSender], KlaviyoClient | None]:
        signature = marketing.model_dump_json()
        if signature not in self._built:
            senders: list[MessageSender] = []
            klaviyo = None
            for channel in marketing.channels:
                if channel == "ses":
                    # MarketingConfig requires a sender with ses and the mailchimp section with
                    # mailchimp (_channel_settings), so neither is None here.
                    assert marketing.sender is not None
                    senders.append(SesSender(self._ses_client(), marketing.sender, marketing.reply_to))
                elif channel == "klaviyo":
                    settings = marketing.klaviyo_settings()
                    klaviyo = KlaviyoClient(
                        self._secret("KLAVIYO_API_KEY"),
                        api_url=settings.api_url,
                        revision=settings.revision,
                        metrics={t.value: name for t, name in KLAVIYO_METRICS.items()},
                        transport=self._transport,
                    )
                    senders.append(klaviyo)
                elif channel == "mailchimp":
                    audience = marketing.mailchimp
                    assert audience is not None
                    senders.append(
                        MailchimpClient(
                            self._secret("MAILCHIMP_API_KEY"),
                            audience.list_id,
                            api_url=audience.api_url,
                            transport=self._transport,
                        )
                    )
            self._built = {signature: (senders, klaviyo)}  # only the configuration in force is kept
        return self._built[signature]

    def senders(self, marketing: MarketingConfig) -> list[MessageSender]:
        return self._build(marketing)[0]

    def tracker(self, marketing: MarketingConfig) -> ActivityTracker | None:
        return self._build(marketing)[1]

    def unsubscribe(self, marketing: MarketingConfig) -> tuple[str, str]:
        """The page unsubscribe links open, and the secret that signs them."""
        page = marketing.unsubscribe_url or self._default_unsubscribe_url
        if not page:
            raise MissingCredentialError("no unsubscribe page: set marketing.unsubscribe_url (or HUB_UNSUBSCRIBE_URL)")
        return page, self._secret("MARKETING_UNSUBSCRIBE_SECRET")
