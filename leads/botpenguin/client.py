"""The BotPenguin API client (no Django).

Modelled on Sentry's API client base: one `_request` path over one `requests.Session`, a timeout on
every call, urllib3 `Retry` for connection errors, 429 (Retry-After honoured, capped) and 5xx, and
library errors turned into this package's exceptions (`raise ... from e`). Answers are decoded with
orjson: a listing page of 100 chats is the sync's largest input.
"""

from __future__ import annotations

import email.utils
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from leads.botpenguin.errors import (
    AuthRejected,
    MalformedResponse,
    Unavailable,
    ValidationRejected,
)

logger = logging.getLogger("leads.botpenguin")

LIST_PATH = "/inbox/direct/chats"
PUT_PATH = "/inbox/direct/lead"
LIST_TYPES = ("lead", "non-lead")
RETRY_STATUSES = (429, 500, 502, 503, 504)
UTF8_BOM = b"\xef\xbb\xbf"


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

    def __repr__(self) -> str:
        return (
            f"ClientConfig(base_url={self.base_url!r}, token='***', bot_id={self.bot_id!r}, "
            f"customer_id={self.customer_id!r}, timeouts=({self.connect_timeout}, "
            f"{self.read_timeout}), retries={self.retries})"
        )


class CappedRetry(Retry):
    """urllib3 Retry whose Retry-After sleep is capped (a server may ask for hours)."""

    max_retry_after: float = 30.0

    def new(self, **kw: Any) -> CappedRetry:
        new = super().new(**kw)
        new.max_retry_after = self.max_retry_after
        return new

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.max_retry_after)


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
    def __init__(self, config: ClientConfig, *, session: requests.Session | None = None):
        parts = urlsplit(config.base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("the API URL must be an absolute http(s) URL")
        self.config = config
        self.base_url = config.base_url.strip().rstrip("/")
        self.session = session or requests.Session()
        retry = CappedRetry(
            total=config.retries,
            connect=config.retries,
            read=config.retries,
            status=config.retries,
            other=0,
            backoff_factor=config.backoff_factor,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "PUT"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.max_retry_after = config.max_retry_after
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=32)
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
        url = self.base_url + path
        timeout = (self.config.connect_timeout, self.config.read_timeout)
        started = time.monotonic()
        try:
            response = self.session.request(method, url, timeout=timeout, **kwargs)
        except requests.Timeout as e:
            raise Unavailable(f"timed out after {self.config.read_timeout:g}s") from e
        except requests.ConnectionError as e:
            raise Unavailable(_connection_reason(e)) from e
        except requests.RequestException as e:
            raise Unavailable(e.__class__.__name__) from e
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug("%s %s -> %s in %.0f ms", method, path, response.status_code, elapsed_ms)
        return self._handle(response)

    def _handle(self, response: requests.Response) -> dict:
        status = response.status_code
        body = _json_or_none(response.content)
        message = _api_message(body, response)
        if self.config.token:
            message = message.replace(self.config.token, "***")
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
        if status >= 300:
            raise Unavailable(f"unexpected HTTP {status}", status=status)
        if not response.content.strip():
            return {}
        if body is None:
            raise MalformedResponse(f"the answer to {response.request.method} is not JSON")
        if not isinstance(body, dict):
            raise MalformedResponse("the answer is JSON but not an object")
        if body.get("success") is False:
            raise ValidationRejected(status, message)
        return body


def _json_or_none(content: bytes) -> Any:
    """The body decoded (orjson: RFC 8259 JSON, a UTF-8 byte order mark tolerated), or None."""
    try:
        return orjson.loads(content.removeprefix(UTF8_BOM))
    except orjson.JSONDecodeError:
        return None


def _api_message(body: Any, response: requests.Response) -> str:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text = body["message"]
    elif body is None:
        text = response.text[:300] if response.status_code >= 400 else ""
    else:
        text = ""
    return " ".join(text.split())[:300]


def _connection_reason(error: requests.ConnectionError) -> str:
    text = str(error).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service" in text or "nodename" in text or "resolve" in text:
        return "host not found"
    if "timed out" in text or "timeout" in text:
        return "connection timed out"
    return "connection failed"
