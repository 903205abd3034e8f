"""The console as one function of an API Gateway (payload 2.0) event: sign-in, then the pages.

Every request but the login page needs a valid session (a page without one redirects to the login,
anything else is a 401); every POST needs the session's CSRF token (the login form its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

# Each module's @page views register themselves, in this order (the navigation's).
# isort: off
import hub.console.pages
import hub.console.stock_pages
import hub.console.webhook_pages
import hub.console.deadletter_pages
import hub.console.report_pages
import hub.console.customer_pages
import hub.console.catalog_pages  # noqa: F401

# isort: on
from hub.console.auth import LOGIN_COOKIE, LOGIN_SECONDS, SESSION_COOKIE, SESSION_SECONDS, Sessions, cookie
from hub.console.frame import PAGES, PREFIX, Request, Response, redirect, render, same, static
from hub.errors import ConfigurationError, RefusedError
from hub.observability import logger

if TYPE_CHECKING:
    from hub.bootstrap import Sandbox

__all__ = ["Console"]


class Console:
    """Answers one request; `sessions` signs with the console token."""

    def __init__(self, sandbox: Sandbox, sessions: Sessions) -> None:
        self.sandbox = sandbox
        self.sessions = sessions

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        request = Request.from_event(event)
        try:
            return self._answer(request).result()
        except ConfigurationError as exc:
            # The token's secret is missing or unreadable: say so (the message names no value).
            logger.exception("the console cannot sign anyone in")
            text = f"The console is not set up: {exc}. See docs/console.md."
            return Response(500, text, {"Content-Type": "text/plain; charset=utf-8"}).result()

    def _answer(self, request: Request) -> Response:
        if request.path == "login":
            return self._login(request)
        request.session = self.sessions.session(request.cookies.get(SESSION_COOKIE))
        if request.session is None:
            if request.method == "GET" and not request.path.startswith("static/"):
                return redirect(f"{PREFIX}/login")
            return Response(401, "sign in first", {"Content-Type": "text/plain; charset=utf-8"})
        if request.method == "POST" and not same(request.form.get("csrf"), request.session.csrf):
            return render(request, "error.html", 403, message="This form has expired; go back, reload and try again.")
        if request.path == "logout" and request.method == "POST":
            return redirect(f"{PREFIX}/login", [cookie(SESSION_COOKIE, "", max_age=0, secure=request.secure_cookies)])
        if request.path.startswith("static/"):
            return static(request.path.removeprefix("static/"))
        if request.path == "":
            return redirect(f"{PREFIX}/orders")
        for registered in PAGES:
            found = registered.pattern.match(request.path)
            if found:
                if request.method not in registered.methods:
                    return render(request, "error.html", 405, message="That page does not take this request.")
                try:
                    return registered.view(self.sandbox, request, **found.groupdict())
                except RefusedError as exc:
                    return render(request, "error.html", exc.status_code, message=str(exc))
        return render(request, "error.html", 404, message="There is no such page in the console.")

    def _login(self, request: Request) -> Response:
        if request.method == "POST":
            expected = self.sessions.login_csrf(request.cookies.get(LOGIN_COOKIE))
            if expected is None or not same(request.form.get("csrf"), expected):
                return self._login_form(request, "The sign-in form expired; enter the token again.", 403)
            if not self.sessions.check_token(request.form.get("token", "")):
                return self._login_form(request, "That is not the console token. Check it and try again.", 401)
            value, _session = self.sessions.new_session()
            secure = request.secure_cookies
            return redirect(
                f"{PREFIX}/orders",
                [
                    cookie(SESSION_COOKIE, value, max_age=SESSION_SECONDS, secure=secure),
                    cookie(LOGIN_COOKIE, "", max_age=0, secure=secure),
                ],
            )
        if request.method != "GET":
            return Response(405, "", {"Allow": "GET, POST"})
        return self._login_form(request, None, 200)

    def _login_form(self, request: Request, error: str | None, status: int) -> Response:
        value, csrf = self.sessions.new_login()
        response = render(request, "login.html", status, error=error, login_csrf=csrf)
        response.cookies.append(cookie(LOGIN_COOKIE, value, max_age=LOGIN_SECONDS, secure=request.secure_cookies))
        return response
