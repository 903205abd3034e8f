"""The unsubscribe pages: GET asks with a form that POSTs, every value is escaped, the link's token
travels nowhere else (no referrer, no cache), and RFC 8058's one-click marker is the mail header's."""

from __future__ import annotations

from email.message import EmailMessage
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from hub.adapters.ses import mime_message
from hub.domain.marketing import MessageContent, OutboundMessage
from hub.marketing.pages import ONE_CLICK, confirmation_page, invalid_link_page, unsubscribed_page
from hub.marketing.unsubscribe import sign, unsubscribe_link, verify

HOSTILE_SHOP = 'Ada\'s <script>alert(1)</script> & "Goods"'
TOKEN = sign("ck_0123456789abcdef", "unsubscribe-secret")


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


def test_the_confirmation_page_posts_the_token_to_the_same_link_and_records_nothing_itself():
    page = confirmation_page("Ada Goods", TOKEN)
    assert page.status == 200
    elements = parse(page.html)
    [form] = [attrs for tag, attrs in elements.tags if tag == "form"]
    assert form["method"] == "post"
    assert parse_qs(urlsplit(form["action"]).query) == {"token": [TOKEN]}
    hidden = {a["name"]: a["value"] for t, a in elements.tags if t == "input" and a.get("type") == "hidden"}
    assert hidden == {"token": TOKEN, "List-Unsubscribe": "One-Click"}
    assert any(tag == "button" for tag, _ in elements.tags)
    assert "Stop receiving marketing email from Ada Goods?" in "".join(elements.text)


def test_every_value_on_the_pages_is_escaped():
    quoted_token = 'ck_1"><script>x</script>'
    for page in (confirmation_page(HOSTILE_SHOP, quoted_token), unsubscribed_page(HOSTILE_SHOP)):
        elements = parse(page.html)
        assert "script" not in [tag for tag, _ in elements.tags]  # nothing became markup
        assert "&lt;script&gt;" in page.html
        assert HOSTILE_SHOP in "".join(elements.text)  # shown as written
    elements = parse(confirmation_page("x", quoted_token).html)
    [form] = [a for t, a in elements.tags if t == "form"]
    assert parse_qs(urlsplit(form["action"]).query) == {"token": [quoted_token]}
    assert [a["value"] for t, a in elements.tags if t == "input" and a["name"] == "token"] == [quoted_token]


def test_an_invalid_link_is_a_clear_400_page_that_changes_nothing():
    page = invalid_link_page()
    assert page.status == 400
    text = "".join(parse(page.html).text)
    assert "This link is not valid" in text and "Nothing was changed" in text


def test_the_pages_keep_the_token_from_referrers_and_caches_and_run_nothing():
    for page in (confirmation_page("x", TOKEN), unsubscribed_page("x"), invalid_link_page()):
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        assert "form-action 'self'" in page.headers["Content-Security-Policy"]


def test_the_mail_headers_offer_one_click_unsubscribe_as_rfc_8058_says():
    link = unsubscribe_link("https://hub.example/unsubscribe", "ck_0123456789abcdef", "unsubscribe-secret")
    message = OutboundMessage(
        trigger="post_purchase",
        email="ada@example.com",
        first_name=None,
        last_name=None,
        message_key="post_purchase:shopify:1",
        content=MessageContent(subject="Hello", text="Hi", html="<p>Hi</p>"),
        unsubscribe_url=link,
    )
    mime: EmailMessage = mime_message(message, "Ada Goods <shop@example.com>")
    # One HTTPS URI in angle brackets, and exactly the key/value pair the RFC names.
    assert mime["List-Unsubscribe"] == f"<{link}>" and link.startswith("https://")
    assert mime["List-Unsubscribe-Post"] == ONE_CLICK == "List-Unsubscribe=One-Click"
    token = parse_qs(urlsplit(link).query)["token"][0]
    assert verify(token, ["unsubscribe-secret"]) == "ck_0123456789abcdef"
