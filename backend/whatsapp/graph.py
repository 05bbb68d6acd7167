"""The Graph API client: Meta's WhatsApp Cloud API (or the simulator) at ``{graph_url}/{version}``.

Every call takes the channel's access token; the client never logs it. Failures come out
as three exception types, because the outbox must know whether a request can have
reached Meta:

- ``GraphUnreachable``: the request never left (connection refused, DNS, connect
  timeout, no free connection): safe to retry;
- ``GraphTimeout``: the request was sent and no answer came (read/write timeout, the
  connection dropped mid-way): *ambiguous*, it may have been processed;
- ``GraphError``: Meta answered with its error shape
  ``{"error": {"message", "type", "code", "error_subcode"?, "error_data": {"details"}}}``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT = 5.0
TEMPLATE_FIELDS = "name,language,status,category,parameter_format,components"
MAX_PAGES = 1000  # a bound on paging.next, against a server that never stops


class GraphUnreachable(Exception):
    """The request never reached the Graph API: retrying cannot cause a duplicate."""


class GraphTimeout(Exception):
    """The request was sent but no answer came: it may or may not have been processed."""


class GraphError(Exception):
    """An error answered by the Graph API; branch on ``code`` (+ ``details``), never the title."""

    def __init__(
        self,
        code: int | None,
        subcode: int | None,
        details: str | None,
        http_status: int,
        message: str = "",
        type: str | None = None,  # noqa: A002 - Meta's field name
        fbtrace_id: str | None = None,
    ) -> None:
        self.code = code
        self.subcode = subcode
        self.details = details
        self.http_status = http_status
        self.message = message
        self.type = type
        self.fbtrace_id = fbtrace_id
        super().__init__(message or f"Graph API error {code}")

    def __str__(self) -> str:
        return (
            f"Graph API error {self.code} (HTTP {self.http_status}): {self.details or self.message}"
        )

    @classmethod
    def from_response(cls, response: httpx.Response) -> GraphError:
        body: Any = None
        try:
            body = response.json()
        except ValueError:
            body = None
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(
                code=None,
                subcode=None,
                details=None,
                http_status=response.status_code,
                message=f"HTTP {response.status_code} without a Graph API error body",
            )
        error_data = error.get("error_data")
        details = error_data.get("details") if isinstance(error_data, dict) else None
        return cls(
            code=_int_or_none(error.get("code")),
            subcode=_int_or_none(error.get("error_subcode")),
            details=str(details) if details is not None else None,
            http_status=response.status_code,
            message=str(error.get("message") or ""),
            type=error.get("type"),
            fbtrace_id=error.get("fbtrace_id"),
        )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# how many requests to the Graph API may be open at once, and kept open between sends
CONNECTION_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32)


class GraphClient:
    """One pooled ``httpx.AsyncClient`` for all Graph API calls of the backend."""

    def __init__(
        self,
        graph_url: str,
        version: str,
        *,
        timeout: float = 15.0,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = f"{graph_url.rstrip('/')}/{version.strip('/')}"
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=CONNECTION_LIMITS,
            transport=transport,
            follow_redirects=False,
        )

    async def close(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ transport

    async def request(
        self,
        method: str,
        path_or_url: str,
        token: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        url = (
            path_or_url
            if path_or_url.startswith(("http://", "https://"))
            else f"{self.base_url}/{path_or_url.lstrip('/')}"
        )
        headers = {"Authorization": f"Bearer {token}"}
        try:
            response = await self._http.request(
                method, url, headers=headers, json=json, params=params, data=data, files=files
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise GraphUnreachable(f"cannot reach the Graph API: {type(exc).__name__}") from None
        except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
            raise GraphTimeout(f"no answer from the Graph API: {type(exc).__name__}") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            # the connection broke after (part of) the request went out
            raise GraphTimeout(f"the Graph API connection broke: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise GraphError.from_response(response)
        try:
            body = response.json()
        except ValueError:
            raise GraphError(
                code=None,
                subcode=None,
                details=None,
                http_status=response.status_code,
                message="the Graph API answered with a body that is not JSON",
            ) from None
        return body if isinstance(body, dict) else {"data": body}

    # ------------------------------------------------------------------ messages

    async def send_message(
        self, token: str, phone_number_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST /{phone_number_id}/messages``; returns Meta's answer (``messages[0].id``)."""
        return await self.request("POST", f"{phone_number_id}/messages", token, json=body)

    async def mark_read(
        self, token: str, phone_number_id: str, wamid: str, *, typing: bool = False
    ) -> bool:
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": wamid,
        }
        if typing:
            body["typing_indicator"] = {"type": "text"}
        answer = await self.request("POST", f"{phone_number_id}/messages", token, json=body)
        return bool(answer.get("success"))

    async def upload_media(
        self,
        token: str,
        phone_number_id: str,
        content: bytes,
        mime_type: str,
        filename: str | None = None,
    ) -> str:
        """``POST /{phone_number_id}/media`` (multipart); returns Meta's media id."""
        answer = await self.request(
            "POST",
            f"{phone_number_id}/media",
            token,
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename or "file", content, mime_type)},
        )
        media_id = answer.get("id")
        if not media_id:
            raise GraphError(None, None, "no media id in the upload answer", 200, "bad answer")
        return str(media_id)

    # ------------------------------------------------------------------ accounts and numbers

    async def get_account(self, token: str, waba_id: str) -> dict[str, Any]:
        return await self.request("GET", waba_id, token)

    async def list_phone_numbers(self, token: str, waba_id: str) -> list[dict[str, Any]]:
        return await self._all_pages(f"{waba_id}/phone_numbers", token, params=None)

    async def create_phone_number(
        self, token: str, waba_id: str, *, cc: str, phone_number: str, verified_name: str
    ) -> str:
        answer = await self.request(
            "POST",
            f"{waba_id}/phone_numbers",
            token,
            json={"cc": cc, "phone_number": phone_number, "verified_name": verified_name},
        )
        return str(answer["id"])

    async def request_code(
        self, token: str, phone_number_id: str, *, code_method: str, language: str
    ) -> bool:
        answer = await self.request(
            "POST",
            f"{phone_number_id}/request_code",
            token,
            json={"code_method": code_method, "language": language},
        )
        return bool(answer.get("success"))

    async def verify_code(self, token: str, phone_number_id: str, code: str) -> bool:
        answer = await self.request(
            "POST", f"{phone_number_id}/verify_code", token, json={"code": code}
        )
        return bool(answer.get("success"))

    async def register_phone_number(self, token: str, phone_number_id: str, pin: str) -> bool:
        answer = await self.request(
            "POST",
            f"{phone_number_id}/register",
            token,
            json={"messaging_product": "whatsapp", "pin": pin},
        )
        return bool(answer.get("success"))

    async def update_business_profile(
        self, token: str, phone_number_id: str, profile: dict[str, Any]
    ) -> bool:
        answer = await self.request(
            "POST",
            f"{phone_number_id}/whatsapp_business_profile",
            token,
            json={"messaging_product": "whatsapp", **profile},
        )
        return bool(answer.get("success"))

    async def subscribe_app(
        self,
        token: str,
        waba_id: str,
        *,
        override_callback_uri: str | None = None,
        verify_token: str | None = None,
    ) -> bool:
        body: dict[str, Any] = {}
        if override_callback_uri:
            body = {"override_callback_uri": override_callback_uri, "verify_token": verify_token}
        answer = await self.request("POST", f"{waba_id}/subscribed_apps", token, json=body)
        return bool(answer.get("success"))

    # ------------------------------------------------------------------ templates

    async def message_templates(
        self, token: str, waba_id: str, *, page_size: int = 100
    ) -> list[dict[str, Any]]:
        """Every template of the WABA: follows ``paging.next`` until it is absent."""
        return await self._all_pages(
            f"{waba_id}/message_templates",
            token,
            params={"fields": TEMPLATE_FIELDS, "limit": page_size},
        )

    async def _all_pages(
        self, path: str, token: str, *, params: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        answer = await self.request("GET", path, token, params=params)
        for _ in range(MAX_PAGES):
            data = answer.get("data")
            if isinstance(data, list):
                items.extend(item for item in data if isinstance(item, dict))
            paging = answer.get("paging")
            next_url = paging.get("next") if isinstance(paging, dict) else None
            if not next_url or not data:
                return items
            answer = await self.request("GET", str(next_url), token)
        log.warning("stopped following paging.next of %s after %d pages", path, MAX_PAGES)
        return items
