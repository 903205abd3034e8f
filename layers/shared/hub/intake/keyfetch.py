"""Fetching a vendor's signing key or certificate from a URL that an unsigned request names.

PayPal names its certificate in PAYPAL-CERT-URL and Adobe I/O Events its public keys in
x-adobe-public-key{1,2}-path. Those headers arrive before anything is verified, so whoever sends a
request chooses what the hub fetches. A `KeyFetcher` therefore fetches only:

- https, on a host of the vendor's allow-list, port 443, no user info, no query or fragment, a path
  under the vendor's prefix made of plain characters (no `..`, no `//`);
- without following redirects, within short timeouts, and no more than `max_bytes`;
- once per URL: what loaded is cached (bounded, least recently used first out);
- and failures are cached too, so forged requests cannot make every call wait on the vendor:
  a URL that failed is not fetched again for `failure_seconds`; a host that timed out or answered
  5xx is not tried at all for `host_down_seconds`; and at most `new_urls_per_minute` URLs that are
  not cached are fetched a minute, whatever their paths, so varying the path does not help.

A failure that is the vendor's or the network's is a NotDurableError (503: the vendor retries); a URL
or a document that can never verify is a SignatureError (401). Caches live for the life of the
sandbox (Lambda) or process (local stack); that is the point: a warm sandbox answers from memory.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import urlsplit

from hub.errors import NotDurableError, SignatureError

if TYPE_CHECKING:
    import httpx

__all__ = ["FetchPolicy", "KeyFetcher"]

T = TypeVar("T")

_PLAIN_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")


@dataclass(frozen=True)
class FetchPolicy:
    vendor: str  # "PayPal", in messages
    header: str  # the header that named the URL, in messages
    hosts: frozenset[str]
    path_prefix: str
    noun: str = "key"  # what the document is, in messages
    hosts_are: str = "key hosts"
    accept: str = "application/x-pem-file"
    max_bytes: int = 64 * 1024
    connect_timeout: float = 2.0
    timeout: float = 5.0
    failure_seconds: float = 60.0
    host_down_seconds: float = 30.0
    new_urls_per_minute: int = 20
    max_cached: int = 32


@dataclass(frozen=True)
class _Failure:
    until: float
    error: SignatureError | NotDurableError


class KeyFetcher(Generic[T]):
    """Fetch, check and cache what `load` makes of the document at a URL the policy allows.

    `http` (an httpx.Client) and `monotonic` are arguments with lazy defaults, so tests hand in
    their own; `load` turns the bytes into the key or certificate, raising SignatureError when they
    are not one the vendor would sign with.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        load: Callable[[bytes], T],
        *,
        http: httpx.Client | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self._load = load
        self._http = http
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._loaded: OrderedDict[str, T] = OrderedDict()
        self._failed: dict[str, _Failure] = {}
        self._hosts_down: dict[str, _Failure] = {}
        self._recent: deque[float] = deque()

    def check(self, url: str) -> None:
        """SignatureError unless the policy allows fetching `url`; nothing is fetched."""
        policy, shown = self.policy, url[:120]
        if any(ch.isspace() or ch == "\\" for ch in url):
            raise SignatureError(f"the {policy.header} '{shown}' is not a plain URL")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise SignatureError(f"the {policy.header} '{shown}' is not a valid URL") from exc
        if parts.scheme != "https":
            raise SignatureError(f"the {policy.header} must be https, as {policy.vendor} sends it; got '{shown}'")
        host = (parts.hostname or "").lower()
        if host not in policy.hosts:
            allowed = ", ".join(sorted(policy.hosts))
            raise SignatureError(
                f"the {policy.header} host '{host[:80]}' is not one of {policy.vendor}'s {policy.hosts_are} ({allowed})"
            )
        if parts.username is not None or parts.password is not None or port not in (None, 443):
            raise SignatureError(
                f"the {policy.header} must name {policy.vendor}'s host alone, with no user or port; got '{shown}'"
            )
        path = parts.path
        if (
            parts.query
            or parts.fragment
            or not path.startswith(policy.path_prefix)
            or not _PLAIN_PATH.match(path)
            or "//" in path
            or any(segment in (".", "..") for segment in path.split("/"))
        ):
            raise SignatureError(
                f"the {policy.header} must be a path under {policy.path_prefix}, of plain characters, and nothing else; "
                f"got '{shown}'"
            )

    def get(self, url: str) -> T:
        """What `load` made of the document at `url`: from the cache, else fetched now."""
        self.check(url)
        now = self._monotonic()
        with self._lock:
            if url in self._loaded:
                self._loaded.move_to_end(url)
                return self._loaded[url]
            failure = self._failed.get(url)
            if failure and failure.until > now:
                raise failure.error
            host = (urlsplit(url).hostname or "").lower()
            down = self._hosts_down.get(host)
            if down and down.until > now:
                raise down.error
            while self._recent and self._recent[0] <= now - 60:
                self._recent.popleft()
            if len(self._recent) >= self.policy.new_urls_per_minute:
                raise NotDurableError(
                    f"too many new {self.policy.vendor} {self.policy.noun} URLs this minute; "
                    "the signature cannot be checked now, please retry"
                )
            self._recent.append(now)
        try:
            value = self._load(self._fetch(url))
        except NotDurableError as exc:
            with self._lock:
                until = self._monotonic() + self.policy.host_down_seconds
                self._hosts_down[host] = _Failure(until, exc)
                self._failed[url] = _Failure(until, exc)
            raise
        except SignatureError as exc:
            with self._lock:
                self._failed[url] = _Failure(self._monotonic() + self.policy.failure_seconds, exc)
                self._forget_expired()
            raise
        with self._lock:
            self._loaded[url] = value
            self._failed.pop(url, None)
            while len(self._loaded) > self.policy.max_cached:
                self._loaded.popitem(last=False)
        return value

    def _forget_expired(self) -> None:
        # Bounded memory: failures are only kept while they still answer.
        now = self._monotonic()
        if len(self._failed) > 4 * self.policy.max_cached:
            self._failed = {url: f for url, f in self._failed.items() if f.until > now}

    def _client(self) -> httpx.Client:
        if self._http is None:
            import httpx

            self._http = httpx.Client(
                timeout=httpx.Timeout(self.policy.timeout, connect=self.policy.connect_timeout),
                headers={"Accept": self.policy.accept},
                follow_redirects=False,
            )
        return self._http

    def _fetch(self, url: str) -> bytes:
        import httpx

        policy = self.policy
        retry = "; the signature cannot be checked now, please retry"
        try:
            with self._client().stream("GET", url, follow_redirects=False) as response:
                status = response.status_code
                if status >= 500 or status == 429:
                    raise NotDurableError(f"{policy.vendor} answered {status} for its {policy.noun}{retry}")
                if 300 <= status < 400:
                    raise SignatureError(
                        f"{policy.vendor} answered a redirect for the {policy.header}; a {policy.noun} is fetched "
                        "from the allowed hosts only, never from where a redirect points"
                    )
                if status != 200:
                    raise SignatureError(
                        f"{policy.vendor} has no {policy.noun} at that {policy.header} (HTTP {status})"
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > policy.max_bytes:
                    raise SignatureError(f"the document at {policy.header} is too large for a {policy.noun}")
                content = bytearray()
                for chunk in response.iter_bytes():
                    content += chunk
                    if len(content) > policy.max_bytes:
                        raise SignatureError(f"the document at {policy.header} is too large for a {policy.noun}")
                return bytes(content)
        except httpx.HTTPError as exc:
            raise NotDurableError(
                f"{policy.vendor}'s {policy.noun} could not be fetched ({type(exc).__name__}){retry}"
            ) from exc
