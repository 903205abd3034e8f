"""The pages of GET/POST /unsubscribe: plain HTML, every value escaped, no script, no outside asset.

GET shows a confirmation with a one-button form and records nothing: mail scanners and link
previews follow every link in a message, and an unsubscribe they trigger is one the customer never
asked for (RFC 8058, section 1). The form posts to the same URL, as a mail client's one-click
unsubscribe does (`List-Unsubscribe=One-Click`), and only a POST records the opt-out.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

__all__ = ["ONE_CLICK", "Page", "confirmation_page", "invalid_link_page", "unsubscribed_page"]

ONE_CLICK = "List-Unsubscribe=One-Click"

# The token is in the URL: no referrer carries it elsewhere, no cache keeps the page, nothing runs.
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
}


@dataclass(frozen=True)
class Page:
    status: int
    html: str
    headers: dict[str, str]


def _page(status: int, title: str, body: str) -> Page:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="robots" content="noindex"><title>{escape(title)}</title></head>'
        '<body style="font-family:Helvetica,Arial,sans-serif;max-width:36em;margin:3em auto;padding:0 1em">'
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )
    return Page(status, html, dict(HEADERS))


def confirmation_page(shop: str, token: str) -> Page:
    """200: what the link does, and the button that does it (a POST to the same link)."""
    action = "?" + urlencode({"token": token})
    form = (
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit" style="font-size:1.1em;padding:.5em 1.2em">Unsubscribe</button></form>'
    )
    text = f"<p>Stop receiving marketing email from {escape(shop)}? Order and delivery emails still arrive.</p>"
    return _page(200, "Unsubscribe", text + form)


def unsubscribed_page(shop: str) -> Page:
    return _page(200, "You are unsubscribed", f"<p>You will receive no more marketing email from {escape(shop)}.</p>")


def invalid_link_page() -> Page:
    text = "<p>Use the unsubscribe link of the email, whole and unchanged. Nothing was changed.</p>"
    return _page(400, "This link is not valid", text)
