"""The social networks' publishing APIs (`hub.ports.SocialPublisher`), one client each, and the set
a social configuration names (`SocialNetworks`), each built with its token from the social secret.

Facebook Page (Graph API, developers.facebook.com/docs/pages-api/posts):
  `POST /{version}/{page-id}/feed` with `message` and `link` (form fields) -> `{"id": "<page>_<post>"}`.
Instagram (Graph API content publishing, developers.facebook.com/docs/instagram-platform/content-publishing):
  `POST /{version}/{ig-user-id}/media` with `image_url` and `caption` -> `{"id": "<container>"}`;
  `GET /{version}/{container}?fields=status_code` -> `{"status_code": "FINISHED" | "IN_PROGRESS" |
  "ERROR" | "EXPIRED" | "PUBLISHED", "id": ...}`;
  `POST /{version}/{ig-user-id}/media_publish` with `creation_id` -> `{"id": "<media>"}`.
Pinterest (API v5, developers.pinterest.com/docs/api/v5/pins-create):
  `POST /v5/pins` with JSON `{board_id, title, description, link, media_source: {source_type:
  "image_url", url}}` -> 201 `{"id": "<pin>", ...}`.

Tokens go in the `Authorization: Bearer` header (never in a URL, which httpx logs). Creating a post
takes no idempotency key on any of the three, so those calls are retried by the transport only
when the network cannot have acted on them (a 429, Meta's throttling codes, a connection never
made: `purchase_retry`); after a timeout or a 5xx the call fails, and the marker the service keeps
decides what a retry does. Instagram's container is recorded as soon as it exists (`keep`), so a
retry publishes that container instead of making a second one, and a container Instagram reports
PUBLISHED is not published again.

Graph errors are read for their code: 4, 17, 32, 613 and 80000-80014 are rate limits (backed off
inside the call, then the record is retried by its queue), 190 an expired or revoked token (the
error says to renew FACEBOOK_PAGE_ACCESS_TOKEN or INSTAGRAM_ACCESS_TOKEN). X-App-Usage and
X-Business-Use-Case-Usage are read on a throttled answer to say when access comes back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from httpx_retries import Retry

from hub.adapters.http import META_THROTTLING_CODES, outbound_client, outbound_error, purchase_retry
from hub.config.social import FacebookConfig, InstagramConfig, PinterestConfig, SocialConfig
from hub.domain.social import SocialPost
from hub.errors import ContainerNotReadyError, MissingCredentialError, OutboundError
from hub.vendor_versions import PINTEREST_API_VERSION

__all__ = [
    "TOKEN_KEYS",
    "FacebookPage",
    "InstagramAccount",
    "PinterestBoard",
    "SocialNetworks",
    "meta_regain_minutes",
]

# The key of the social secret each network's token is kept under.
TOKEN_KEYS = {
    "facebook": "FACEBOOK_PAGE_ACCESS_TOKEN",
    "instagram": "INSTAGRAM_ACCESS_TOKEN",
    "pinterest": "PINTEREST_ACCESS_TOKEN",
}
_BAD_TOKEN = 190


def _graph_code(response: httpx.Response) -> int | None:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    code = error.get("code") if isinstance(error, Mapping) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def meta_regain_minutes(headers: Mapping[str, str]) -> int | None:
    """Minutes until Meta lets the app call again, from X-Business-Use-Case-Usage
    (`{"<business id>": [{"type": ..., "estimated_time_to_regain_access": N}]}`); None if unsaid."""
    raw = headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for entries in (usage.values() if isinstance(usage, dict) else [])
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    found = [m for m in minutes if isinstance(m, int) and not isinstance(m, bool)]
    return max(found) if found else None


def _app_usage(headers: Mapping[str, str]) -> int | None:
    """The highest percentage X-App-Usage reports (call_count, total_time, total_cputime)."""
    try:
        usage = json.loads(headers.get("X-App-Usage") or "null")
    except ValueError:
        return None
    if not isinstance(usage, dict):
        return None
    values = [v for v in usage.values() if isinstance(v, int | float) and not isinstance(v, bool)]
    return int(max(values)) if values else None


def _graph_error(response: httpx.Response, what: str, token_key: str) -> OutboundError:
    """The OutboundError of a failed Graph call, saying what the merchant can do about it."""
    error = outbound_error(response, what)
    code = _graph_code(response)
    if code == _BAD_TOKEN:
        return OutboundError(
            f"{error}: the access token is expired or revoked; put a new {token_key} in the hub's social secret",
            response.status_code,
            code=error.code,
            request_id=error.request_id,
        )
    if code in META_THROTTLING_CODES:
        said = [f"Graph rate limit code {code}"]
        regain = meta_regain_minutes(response.headers)
        if regain is not None:
            said.append(f"access back in about {regain} min")
        usage = _app_usage(response.headers)
        if usage is not None:
            said.append(f"app usage {usage}%")
        return OutboundError(
            f"{error} ({'; '.join(said)}); the record is retried later",
            response.status_code,
            code=error.code,
            request_id=error.request_id,
        )
    return error


def _id(response: httpx.Response, what: str) -> str:
    try:
        value = response.json()["id"]
    except (ValueError, KeyError, TypeError) as exc:
        raise OutboundError(f"{what} answered without an id", response.status_code) from exc
    return str(value)


class FacebookPage:
    network = "facebook"

    def __init__(
        self,
        config: FacebookConfig,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
    ) -> None:
        self._path = f"/{config.api_version}/{config.page_id}/feed"
        self._retry = purchase_retry(retry)
        self._http = outbound_client(
            config.api_url, headers={"Authorization": f"Bearer {token}"}, transport=transport, retry=retry
        )

    def publish(self, post: SocialPost, container: str | None, keep: Callable[[str], None]) -> str:
        data = {"message": post.text}
        if post.link:
            data["link"] = post.link
        response = self._http.post(self._path, data=data, extensions={"retry": self._retry})
        if not response.is_success:
            raise _graph_error(response, "Facebook Page post", TOKEN_KEYS["facebook"])
        return _id(response, "Facebook Page post")


class InstagramAccount:
    network = "instagram"

    def __init__(
        self,
        config: InstagramConfig,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
    ) -> None:
        self._version = config.api_version
        self._user = config.ig_user_id
        self._publish_retry = purchase_retry(retry)
        self._http = outbound_client(
            config.api_url, headers={"Authorization": f"Bearer {token}"}, transport=transport, retry=retry
        )

    def _fail(self, response: httpx.Response, what: str) -> OutboundError:
        return _graph_error(response, what, TOKEN_KEYS["instagram"])

    def create_container(self, post: SocialPost) -> str:
        if not post.image_url:
            raise ValueError("an Instagram post needs an image")
        # A container that is never published expires after 24 hours: making one again is harmless.
        response = self._http.post(
            f"/{self._version}/{self._user}/media", data={"image_url": post.image_url, "caption": post.text}
        )
        if not response.is_success:
            raise self._fail(response, "Instagram media container")
        return _id(response, "Instagram media container")

    def status(self, container: str) -> str:
        response = self._http.get(f"/{self._version}/{container}", params={"fields": "status_code"})
        if not response.is_success:
            raise self._fail(response, "Instagram container status")
        try:
            return str(response.json()["status_code"])
        except (ValueError, KeyError, TypeError) as exc:
            raise OutboundError("Instagram container status answered without a status_code") from exc

    def publish(self, post: SocialPost, container: str | None, keep: Callable[[str], None]) -> str:
        """Publish `container` (made now, and kept, when there is none yet or it expired or failed)."""
        if container is not None:
            status = self.status(container)
            if status == "PUBLISHED":
                return container  # a publish that succeeded before its answer was lost: not again
            if status in ("ERROR", "EXPIRED"):
                container = None
            elif status != "FINISHED":
                raise ContainerNotReadyError(f"Instagram container is {status}; published on a retry")
        if container is None:
            container = self.create_container(post)
            keep(container)
            status = self.status(container)
            if status != "FINISHED":
                raise ContainerNotReadyError(f"Instagram container is {status}; published on a retry")
        response = self._http.post(
            f"/{self._version}/{self._user}/media_publish",
            data={"creation_id": container},
            extensions={"retry": self._publish_retry},
        )
        if not response.is_success:
            raise self._fail(response, "Instagram media publish")
        return _id(response, "Instagram media publish")


class PinterestBoard:
    network = "pinterest"

    def __init__(
        self,
        config: PinterestConfig,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        retry: Retry | None = None,
    ) -> None:
        self._board = config.board_id
        self._retry = purchase_retry(retry)
        self._http = outbound_client(
            config.api_url,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            transport=transport,
            retry=retry,
        )

    def publish(self, post: SocialPost, container: str | None, keep: Callable[[str], None]) -> str:
        if not post.image_url:
            raise ValueError("a pin needs an image")
        body: dict[str, Any] = {
            "board_id": self._board,
            "title": post.title,
            "description": post.text,
            "media_source": {"source_type": "image_url", "url": post.image_url},
        }
        if post.link:
            body["link"] = post.link
        response = self._http.post(
            f"/{PINTEREST_API_VERSION}/pins", content=json.dumps(body).encode(), extensions={"retry": self._retry}
        )
        if not response.is_success:
            error = outbound_error(response, "Pinterest pin")
            if response.status_code == 401:
                raise OutboundError(
                    f"{error}: the token is expired or revoked; put a new {TOKEN_KEYS['pinterest']} in the hub's "
                    "social secret",
                    401,
                    code=error.code,
                    request_id=error.request_id,
                )
            raise error
        return _id(response, "Pinterest pin")


class SocialNetworks:
    """The publishers a social configuration names, each built once per section and token: the token
    is read at every post (the secrets provider caches it for minutes), so a renewed one is used."""

    def __init__(self, secrets: Any, *, transport: httpx.BaseTransport | None = None, retry: Retry | None = None):
        """`secrets` is a hub.secrets.SecretsProvider; `transport` lets tests hand in httpx.MockTransport."""
        self._secrets = secrets
        self._transport = transport
        self._retry = retry
        self._built: dict[tuple[str, str, str], Any] = {}

    def _token(self, network: str) -> str:
        key = TOKEN_KEYS[network]
        values = self._secrets.candidates(key)
        if not values:
            raise MissingCredentialError(
                f"{key} is not in the hub's social secret; marketing.social.{network} needs it"
            )
        return values[-1]  # the newest, during a rotation

    def __call__(self, social: SocialConfig, network: str) -> Any:
        section = getattr(social, network)
        token = self._token(network)  # read each time (cached by the secrets provider): a renewed token is used
        signature = (network, section.model_dump_json(), token)
        if signature not in self._built:
            kinds = {"facebook": FacebookPage, "instagram": InstagramAccount, "pinterest": PinterestBoard}
            stale = [key for key in self._built if key[0] == network]
            for key in stale:  # the client of a token or section replaced
                del self._built[key]
            self._built[signature] = kinds[network](section, token, transport=self._transport, retry=self._retry)
        return self._built[signature]
