"""The exact requests social posting sends (hub.adapters.social), against fakes that answer as the
vendors document (tests/social_apis.py names the pages), and what each error answer becomes."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
import pytest
from hub.adapters.http import default_retry
from hub.adapters.social import FacebookPage, InstagramAccount, PinterestBoard, SocialNetworks
from hub.config.social import FacebookConfig, InstagramConfig, PinterestConfig, SocialConfig
from hub.domain.social import SocialPost
from hub.errors import ContainerNotReadyError, MissingCredentialError, OutboundError
from hub.secrets import SecretsProvider

from tests.social_apis import (
    BOARD_ID,
    FACEBOOK_TOKEN,
    IG_USER_ID,
    INSTAGRAM_TOKEN,
    PAGE_ID,
    PINTEREST_TOKEN,
    FakeGraph,
    FakePinterest,
)

FAST = default_retry(backoff=0.001, budget=2)
POST = SocialPost(
    network="x",
    key="new_product:shopify:1:new:x",
    text="Enamel Mug — 12.50 EUR https://shop.example/products/mug",
    title="Enamel Mug",
    link="https://shop.example/products/mug",
    image_url="https://cdn.example/mug.jpg",
)


def form(request) -> dict[str, list[str]]:
    return parse_qs(request.body.decode())


def facebook(graph: FakeGraph, token: str = FACEBOOK_TOKEN) -> FacebookPage:
    return FacebookPage(FacebookConfig(page_id=PAGE_ID), token, transport=graph.transport(), retry=FAST)


def instagram(graph: FakeGraph) -> InstagramAccount:
    return InstagramAccount(
        InstagramConfig(ig_user_id=IG_USER_ID), INSTAGRAM_TOKEN, transport=graph.transport(), retry=FAST
    )


def pinterest(fake: FakePinterest) -> PinterestBoard:
    return PinterestBoard(PinterestConfig(board_id=BOARD_ID), PINTEREST_TOKEN, transport=fake.transport(), retry=FAST)


# ------------------------------------------------------------------ Facebook Page
def test_a_page_post_is_one_form_post_to_the_feed_with_the_page_token():
    graph = FakeGraph()
    post_id = facebook(graph).publish(POST, None, lambda _c: None)
    (request,) = graph.requests
    assert (request.method, request.target) == ("POST", f"/v25.0/{PAGE_ID}/feed")
    assert request.headers["Authorization"] == f"Bearer {FACEBOOK_TOKEN}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(request) == {"message": [POST.text], "link": [POST.link]}
    assert FACEBOOK_TOKEN not in request.target
    assert post_id == graph.feed[0]["id"] and post_id.startswith(f"{PAGE_ID}_")


def test_an_expired_page_token_says_which_key_to_renew_and_never_the_token():
    graph = FakeGraph(expired_token=True)
    with pytest.raises(OutboundError) as caught:
        facebook(graph).publish(POST, None, lambda _c: None)
    message = str(caught.value)
    assert "FACEBOOK_PAGE_ACCESS_TOKEN" in message and "OAuthException" in message
    assert FACEBOOK_TOKEN not in message and POST.text not in message
    assert len(graph.requests) == 1  # a refused token is not retried inside the call


def test_a_graph_rate_limit_is_backed_off_then_posted_once():
    graph = FakeGraph(throttle_next=2)
    facebook(graph).publish(POST, None, lambda _c: None)
    assert len(graph.requests) == 3 and len(graph.feed) == 1


def test_a_rate_limit_that_lasts_says_when_access_comes_back():
    graph = FakeGraph(throttle_next=99)
    with pytest.raises(OutboundError) as caught:
        facebook(graph).publish(POST, None, lambda _c: None)
    message = str(caught.value)
    assert "Graph rate limit code 32" in message and "about 7 min" in message and "app usage 100%" in message
    assert graph.feed == []


def test_a_page_post_is_not_repeated_after_a_server_error():
    # POST /feed takes no idempotency key: after a 5xx the post may exist, so the call is not retried
    # by the transport; the service's marker decides.
    graph = FakeGraph(fail_feed=1)
    with pytest.raises(OutboundError, match="HTTP 500"):
        facebook(graph).publish(POST, None, lambda _c: None)
    assert len(graph.requests) == 1


# ------------------------------------------------------------------ Instagram
def test_instagram_creates_a_container_checks_it_then_publishes_it():
    graph = FakeGraph()
    kept: list[str] = []
    media_id = instagram(graph).publish(POST, None, kept.append)
    create, status, publish = graph.requests
    assert (create.method, create.target) == ("POST", f"/v25.0/{IG_USER_ID}/media")
    assert form(create) == {"image_url": [POST.image_url], "caption": [POST.text]}
    assert create.headers["Authorization"] == f"Bearer {INSTAGRAM_TOKEN}"
    assert (status.method, status.target) == ("GET", f"/v25.0/{kept[0]}?fields=status_code")
    assert (publish.method, publish.target) == ("POST", f"/v25.0/{IG_USER_ID}/media_publish")
    assert form(publish) == {"creation_id": kept}
    assert media_id == graph.media[0]["id"] and graph.media[0]["caption"] == POST.text


def test_a_container_still_in_progress_is_a_retry_that_publishes_the_same_container():
    graph = FakeGraph(pending_checks=1)
    kept: list[str] = []
    with pytest.raises(ContainerNotReadyError, match="IN_PROGRESS"):
        instagram(graph).publish(POST, None, kept.append)
    assert graph.media == [] and len(kept) == 1
    instagram(graph).publish(POST, kept[0], kept.append)
    assert len(graph.containers) == 1 and len(graph.media) == 1 and len(kept) == 1


def test_a_container_already_published_is_not_published_again():
    graph = FakeGraph()
    kept: list[str] = []
    instagram(graph).publish(POST, None, kept.append)
    before = len(graph.requests)
    assert instagram(graph).publish(POST, kept[0], kept.append) == kept[0]
    assert len(graph.media) == 1
    assert [r.method for r in graph.requests[before:]] == ["GET"]


@pytest.mark.parametrize("status", ["ERROR", "EXPIRED"])
def test_a_failed_or_expired_container_is_made_again(status):
    graph = FakeGraph()
    kept: list[str] = []
    instagram(graph).publish(POST, None, kept.append)
    graph.containers[kept[0]]["status"] = status
    graph.media.clear()
    instagram(graph).publish(POST, kept[0], kept.append)
    assert len(kept) == 2 and len(graph.media) == 1


# ------------------------------------------------------------------ Pinterest
def test_a_pin_is_one_json_post_with_the_board_and_the_image_url():
    fake = FakePinterest()
    pin_id = pinterest(fake).publish(POST, None, lambda _c: None)
    (request,) = fake.requests
    assert (request.method, request.target) == ("POST", "/v5/pins")
    assert request.headers["Authorization"] == f"Bearer {PINTEREST_TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "board_id": BOARD_ID,
        "title": "Enamel Mug",
        "description": POST.text,
        "link": POST.link,
        "media_source": {"source_type": "image_url", "url": POST.image_url},
    }
    assert pin_id == fake.pins[0]["id"]


def test_pinterest_429_is_waited_out_then_pinned_once():
    fake = FakePinterest(rate_limit_next=2)
    pinterest(fake).publish(POST, None, lambda _c: None)
    assert [r.method for r in fake.requests] == ["POST"] * 3 and len(fake.pins) == 1


def test_pinterest_is_not_repeated_after_a_server_error():
    fake = FakePinterest(fail_next=1)
    with pytest.raises(OutboundError, match="Pinterest pin failed with HTTP 500"):
        pinterest(fake).publish(POST, None, lambda _c: None)
    assert len(fake.requests) == 1


def test_a_refused_pinterest_token_says_which_key_to_renew():
    fake = FakePinterest(token="another")
    with pytest.raises(OutboundError, match="PINTEREST_ACCESS_TOKEN") as caught:
        pinterest(fake).publish(POST, None, lambda _c: None)
    assert PINTEREST_TOKEN not in str(caught.value)


# ------------------------------------------------------------------ tokens from the social secret
def test_a_missing_token_names_its_key():
    config = SocialConfig(pinterest=PinterestConfig(board_id=BOARD_ID))
    networks = SocialNetworks(SecretsProvider(values={}))
    with pytest.raises(MissingCredentialError, match="PINTEREST_ACCESS_TOKEN"):
        networks(config, "pinterest")


def test_the_newest_token_of_a_rotation_is_used():
    fake = FakePinterest()
    config = SocialConfig(pinterest=PinterestConfig(board_id=BOARD_ID))
    rotation = json.dumps(["pina_old", PINTEREST_TOKEN])
    networks = SocialNetworks(SecretsProvider(values={"PINTEREST_ACCESS_TOKEN": rotation}), transport=fake.transport())
    networks(config, "pinterest").publish(POST, None, lambda _c: None)
    assert len(fake.pins) == 1


def test_http_transport_errors_are_outbound_errors_shape():
    # A network answer that is not JSON is still an OutboundError naming the call.
    transport = httpx.MockTransport(lambda request: httpx.Response(502, text="<html>bad gateway</html>"))
    board = PinterestBoard(PinterestConfig(board_id=BOARD_ID), PINTEREST_TOKEN, transport=transport, retry=FAST)
    with pytest.raises(OutboundError, match="Pinterest pin failed with HTTP 502"):
        board.publish(POST, None, lambda _c: None)


def test_a_renewed_token_is_used_without_a_new_sandbox():
    fake = FakePinterest(token="pina_renewed")
    config = SocialConfig(pinterest=PinterestConfig(board_id=BOARD_ID))
    values = {"PINTEREST_ACCESS_TOKEN": "pina_expired"}
    networks = SocialNetworks(SecretsProvider(values=values), transport=fake.transport(), retry=FAST)
    with pytest.raises(OutboundError, match="PINTEREST_ACCESS_TOKEN"):
        networks(config, "pinterest").publish(POST, None, lambda _c: None)
    values["PINTEREST_ACCESS_TOKEN"] = "pina_renewed"  # the merchant puts a new token in the secret
    networks(config, "pinterest").publish(POST, None, lambda _c: None)
    assert len(fake.pins) == 1
