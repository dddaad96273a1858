"""The BotPenguin API client (no Django).

Modelled on Sentry's API client base: one `_request` path over one `requests.Session`, library
errors turned into this package's exceptions (`raise ... from e`). Answers are decoded with orjson:
a listing page of 100 chats is the sync's largest input. Nothing the network sends is trusted:

* Redirects are never followed (the token headers and a PUT's body must not reach another host):
  a 3xx is `Redirected`, never retried.
* An answer is read streamed, at most `max_response_bytes` once decompressed; past that it is
  refused (`MalformedResponse`) and its connection closed.
* Each attempt (connect, send, headers and body together) ends within `read_timeout` seconds.
  Connection errors, timeouts, 429 and 500/502/503/504 are tried again up to `retries` times
  after a pause (Retry-After honoured but capped at `max_retry_after`, else exponential backoff),
  so a call lasts at most (retries + 1) x read_timeout plus the pauses.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util import Timeout
from urllib3.util.retry import Retry

from leads.botpenguin.errors import (
    AuthRejected,
    MalformedResponse,
    Redirected,
    Unavailable,
    ValidationRejected,
)
from leads.botpenguin.records import decode_json

logger = logging.getLogger("leads.botpenguin")

LIST_PATH = "/inbox/direct/chats"
PUT_PATH = "/inbox/direct/lead"
LIST_TYPES = ("lead", "non-lead")
RETRY_STATUSES = (429, 500, 502, 503, 504)
UTF8_BOM = b"\xef\xbb\xbf"
MB = 1024 * 1024
CHUNK = (
    64 * 1024
)  # decompressed bytes per read: the size limit and the deadline are checked between
BACKOFF_MAX = 120.0  # urllib3's own ceiling for the exponential backoff


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    token: str = field(repr=False)
    bot_id: str
    customer_id: str
    connect_timeout: float = 3.05
    read_timeout: float = 15.0
    retries: int = 3
    backoff_factor: float = 0.5
    max_retry_after: float = 30.0
    max_response_bytes: int = 20 * MB

    def __repr__(self) -> str:
        return (
            f"ClientConfig(base_url={self.base_url!r}, token='***', bot_id={self.bot_id!r}, "
            f"customer_id={self.customer_id!r}, timeouts=({self.connect_timeout}, "
            f"{self.read_timeout}), retries={self.retries})"
        )


class NoRedirectSession(requests.Session):
    """A Session that sees no redirect target: with `allow_redirects=False` requests still reads
    a 3xx answer's whole body to prepare the next request, which this skips."""

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number of seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class BotPenguinClient:
    def __init__(self, config: ClientConfig):
        parts = urlsplit(config.base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("the API URL must be an absolute http(s) URL")
        self.config = config
        self.base_url = config.base_url.strip().rstrip("/")
        self.session = NoRedirectSession()
        # Retries happen in _request, within a deadline each; urllib3 neither retries nor redirects.
        no_retry = Retry(
            total=0,
            read=False,
            redirect=False,
            status_forcelist=(),
            respect_retry_after_header=False,
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=no_retry, pool_maxsize=32)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": "BotPanel/1.0", "Accept": "application/json"})

    def __repr__(self) -> str:
        return f"BotPenguinClient({self.config!r})"

    def __enter__(self) -> BotPenguinClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # --- endpoints ----------------------------------------------------------------------------------

    def list_chats(self, page: int, type: str) -> list:
        """One page of chats (raw objects, unparsed). An empty list ends the listing."""
        if type not in LIST_TYPES:
            raise ValueError(f"type must be one of {LIST_TYPES}")
        if isinstance(page, bool) or not isinstance(page, int) or page < 1:
            raise ValueError("page must be a positive integer")
        body = self._request(
            "GET",
            LIST_PATH,
            params={
                "botId": self.config.bot_id,
                "customerId": self.config.customer_id,
                "page": page,
                "type": type,
            },
            headers={"x-bot-token": self.config.token},
        )
        data = body.get("data")
        if not isinstance(data, list):
            raise MalformedResponse(f"page {page} of {type} chats has no `data` list")
        return data

    def put_lead(self, body: dict) -> dict:
        """Create or update a lead. The caller builds the body (see records.build_put_body)."""
        return self._request(
            "PUT",
            PUT_PATH,
            json=body,
            headers={"x-bp-token": self.config.token, "Content-Type": "application/json"},
        )

    # --- the one request path -----------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> dict:
        """Send one call, trying again after a transient failure (see the module's docstring for
        the bounds: each attempt within read_timeout, at most `retries` more attempts)."""
        url = self.base_url + path
        for attempt in range(self.config.retries + 1):
            try:
                return self._attempt(method, url, path, **kwargs)
            except Unavailable as e:
                retryable = e.status is None or e.status in RETRY_STATUSES
                if not retryable or attempt == self.config.retries:
                    raise
                self._pause(attempt + 1, e.retry_after)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _pause(self, retry_number: int, retry_after: float | None) -> None:
        if retry_after:  # honoured, but capped: a server may ask for hours
            delay = min(retry_after, self.config.max_retry_after)
        elif retry_number <= 1:
            delay = 0.0
        else:
            delay = min(BACKOFF_MAX, self.config.backoff_factor * 2 ** (retry_number - 1))
        time.sleep(delay)

    def _attempt(self, method: str, url: str, path: str, **kwargs: Any) -> dict:
        seconds = self.config.read_timeout
        started = time.monotonic()
        deadline = started + seconds
        # `total` makes urllib3 give the headers only what the connection left of the deadline.
        timeout = Timeout(
            connect=min(self.config.connect_timeout, seconds), read=seconds, total=seconds
        )
        try:
            response = self.session.request(
                method, url, timeout=timeout, stream=True, allow_redirects=False, **kwargs
            )
        except requests.Timeout as e:
            raise Unavailable(f"timed out after {seconds:g}s") from e
        except requests.ConnectionError as e:
            raise Unavailable(_connection_reason(e)) from e
        except requests.RequestException as e:
            raise Unavailable(e.__class__.__name__) from e
        # Closing here drops a refused or partly read answer's connection; a fully read one has
        # already gone back to the pool.
        with response:
            status = response.status_code
            if 300 <= status < 400:
                raise Redirected(status, self._mask(_location_host(response)))
            content = self._read_body(response, deadline, seconds)
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug("%s %s -> %s in %.0f ms", method, path, status, elapsed_ms)
        return self._handle(method, response, content)

    def _read_body(self, response: requests.Response, deadline: float, seconds: float) -> bytearray:
        """The decompressed body, read in small pieces until the end, the size limit or the
        deadline, whichever comes first (a bytearray: orjson decodes it without a copy)."""
        limit = self.config.max_response_bytes
        body = bytearray()
        try:
            while chunk := _read_some(response.raw, deadline - time.monotonic()):
                body += chunk
                if len(body) > limit:
                    raise MalformedResponse(f"the answer is larger than {limit / MB:g} MB")
        except (TimeoutError, urllib3.exceptions.ReadTimeoutError) as e:
            raise Unavailable(f"timed out after {seconds:g}s") from e
        except urllib3.exceptions.DecodeError as e:
            raise MalformedResponse("the answer could not be decompressed") from e
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise Unavailable("the answer was cut off") from e
        return body

    def _mask(self, text: str) -> str:
        """`text` without the token, in any case (a host name comes back lowercased)."""
        if not self.config.token:
            return text
        return re.sub(re.escape(self.config.token), "***", text, flags=re.IGNORECASE)

    def _handle(self, method: str, response: requests.Response, content: bytearray) -> dict:
        status = response.status_code
        body = _json_or_none(content)
        message = self._mask(_api_message(body, response, content))
        if status in (401, 403):
            raise AuthRejected(status, message)
        if status == 429 or status >= 500:
            raise Unavailable(
                f"HTTP {status}" + (f" ({message})" if message else ""),
                status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 400:
            raise ValidationRejected(status, message)
        if not content.strip():
            return {}
        if body is None:
            raise MalformedResponse(f"the answer to {method} is not JSON")
        if not isinstance(body, dict):
            raise MalformedResponse("the answer is JSON but not an object")
        if body.get("success") is False:
            raise ValidationRejected(status, message)
        return body


def _read_some(raw: urllib3.BaseHTTPResponse, seconds_left: float) -> bytes:
    """At most CHUNK decompressed bytes, as soon as some arrive; b"" at the end of the body.
    The socket's timeout shrinks to the time left, so no single read passes the deadline."""
    if seconds_left <= 0:
        raise TimeoutError
    connection = raw.connection
    sock = getattr(connection, "sock", None)  # None under a test double or once released
    if sock is not None:
        sock.settimeout(seconds_left)
    return raw.read1(CHUNK, decode_content=True)


def _location_host(response: requests.Response) -> str:
    """Only the host a 3xx points to: the full URL's path and query may carry anything."""
    location = response.headers.get("Location", "").strip()
    if not location:
        return "no address"
    try:
        host = urlsplit(location).hostname
    except ValueError:
        return "an unreadable address"
    return (host or "the same host")[:100]


def _json_or_none(content: bytes | bytearray) -> Any:
    """The body decoded (records.decode_json: orjson, else the standard library for what only it
    reads, such as a lone surrogate escape; a UTF-8 byte order mark tolerated), or None."""
    try:
        return decode_json(content.removeprefix(UTF8_BOM))
    except ValueError:
        return None


def _api_message(body: Any, response: requests.Response, content: bytearray) -> str:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text = body["message"]
    elif body is None and response.status_code >= 400:
        text = _text(content[:1200], response.encoding)[:300]
    else:
        text = ""
    return " ".join(text.split())[:300]


def _text(content: bytes | bytearray, encoding: str | None) -> str:
    try:
        return content.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return content.decode("utf-8", errors="replace")


def _connection_reason(error: requests.ConnectionError) -> str:
    text = str(error).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "nodename" in text or "resolve" in text:
        return "host not found"
    if "timed out" in text or "timeout" in text:
        return "connection timed out"
    return "connection failed"
