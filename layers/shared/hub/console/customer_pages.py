"""The console's customer pages: a search by email, and a customer's page with their profile, their
orders (each linked to its page), their marketing consent (when and where it was given) and the
marketing messages sent to them, newest first.

They read through hub.api.admin, like `GET /customers/{email}` (the profile and `messages`) and
`GET /orders?email=` (the orders' rows), so the page shows what the JSON answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from hub.api import admin
from hub.console.frame import PREFIX, Request, Response, page, redirect, render
from hub.domain.customers import normalise_email
from hub.domain.order_search import OrderQuery
from hub.errors import NotFoundError
from hub.views import order_row_view

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox

__all__ = ["customer", "customers"]

NOT_FOUND = "No customer with that email. A customer appears once an order or a customer event names them; an erased customer is gone."
TRIGGERS = {
    "post_purchase": "Post-purchase follow-up",
    "abandoned_checkout": "Abandoned checkout reminder",
    "review_request": "Review request",
    "win_back": "Win-back",
    "back_in_stock": "Back in stock",
}
_CHANNELS = {"email": "email (Amazon SES)", "klaviyo": "Klaviyo", "mailchimp": "Mailchimp"}


def _search(request: Request, status: int = 200, email: str = "", error: str | None = None) -> Response:
    return render(request, "customers.html", status, title="Customers", email=email, error=error)


@page("customers", nav="Customers")
def customers(sandbox: Sandbox, request: Request) -> Response:
    given = (request.query.get("email") or "").strip()
    if not given:
        return _search(request)
    email = normalise_email(given)
    if email is None or "@" not in email or len(email) > 320:
        return _search(request, 400, given, "Enter a customer's email address, for example ada@example.com.")
    if sandbox.profiles.get(email) is None:
        return _search(request, 404, given, NOT_FOUND)
    return redirect(f"{PREFIX}/customers/{quote(email, safe='')}")


@page("customers/<email>")
def customer(sandbox: Sandbox, request: Request, email: str) -> Response:
    wanted = unquote(email).strip()
    try:
        found = admin.get_customer(sandbox, quote(wanted, safe=""))
    except NotFoundError:
        return _search(request, 404, wanted, NOT_FOUND)
    rows = [order_row_view(r) for r in admin.find_orders(sandbox, OrderQuery(email=found["email"])).orders]
    listed = {row["order_id"] for row in rows}
    return render(
        request,
        "customer.html",
        title=f"Customer {found['email']}",
        customer=found,
        rows=rows,
        unlisted=[order_id for order_id in found["orders"] if order_id not in listed],
        triggers=TRIGGERS,
        channels=_CHANNELS,
        label=lambda value: (value or "").replace("_", " "),
    )
