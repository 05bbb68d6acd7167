"""Fetching received media from the Graph API.

For each pending media row: ``GET {graph}/{version}/{media_id}`` with the channel's
access token gives a short-lived ``url`` (5 minutes); the file is downloaded from it
with the same bearer token, its sha256 checked against Meta's, written under
``settings.media_dir`` and the row marked ``ready``. A failed attempt is retried with
back-off; after ``max_attempts`` the row is ``failed`` (and can be queued again with
``POST /api/v1/media/{id}/retry``). Media ids from webhooks expire after 7 days.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import hashlib
import logging
import mimetypes
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx

from backend.config import Settings
from backend.domain.clock import Clock, SystemClock
from backend.private_files import open_private, private_dir
from backend.store import MediaJob, Store

log = logging.getLogger(__name__)

# the key of the running MediaFetcher in the app's services
FETCHER = "whatsapp.media_fetcher"
MEDIA_ID_LIFETIME = timedelta(days=7)
BACKOFF_SECONDS: tuple[float, ...] = (2.0, 10.0, 60.0, 300.0, 1800.0)
MAX_ATTEMPTS = 5
POLL_SECONDS = 30.0
CHUNK = 256 * 1024
MAX_MEDIA_BYTES = 100 * 1_048_576 + 1024
INBOUND_FOLDER = "in"


class MediaFetchError(Exception):
    """A failed attempt; ``final`` when trying again cannot help."""

    def __init__(self, message: str, *, final: bool = False) -> None:
        super().__init__(message)
        self.final = final


def sha256_matches(expected: str, digest: bytes) -> bool:
    """Meta gives the hash as hex (Graph API) or base64 (some webhooks): accept either."""
    text = expected.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text) == digest
        except ValueError:
            pass
    padded = text + "=" * (-len(text) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            if decode(padded) == digest:
                return True
        except (binascii.Error, ValueError):
            continue
    return False


def extension_for(mime_type: str | None, filename: str | None) -> str:
    base = (mime_type or "").split(";", 1)[0].strip().lower()
    special = {
        "audio/ogg": ".ogg",
        "image/webp": ".webp",
        "video/3gpp": ".3gp",
        "text/plain": ".txt",
    }
    ext = special.get(base) or (mimetypes.guess_extension(base) if base else None)
    if not ext and filename and "." in filename:
        tail = "." + filename.rsplit(".", 1)[1].lower()
        if tail[1:].isalnum() and len(tail) <= 8:
            ext = tail
    return ext or ".bin"


@dataclass
class FetchOutcome:
    media_id: int
    ok: bool
    error: str | None = None


class MediaFetcher:
    """The background worker that downloads pending received media."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: Sequence[float] = BACKOFF_SECONDS,
        concurrency: int = 4,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.store = store
        self.settings = settings
        self.base = f"{settings.whatsapp_graph_url}/{settings.whatsapp_api_version}"
        self.media_dir = settings.media_dir
        self._client = client
        self._own_client = client is None
        self.clock = clock or SystemClock()
        self.max_attempts = max(1, max_attempts)
        self.backoff = tuple(backoff) or (0.0,)
        self.poll_seconds = poll_seconds
        self._semaphore = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._not_before: dict[int, float] = {}
        self._in_flight: dict[int, asyncio.Task[FetchOutcome]] = {}
        self.fetched = 0
        self.failed_attempts = 0

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=True
            )
        return self._client

    async def close(self) -> None:
        for task in list(self._in_flight.values()):
            task.cancel()
        for task in list(self._in_flight.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """New pending media: look now rather than at the next poll."""
        self._wake.set()

    # ---------------------------------------------------------------- the loop

    async def run(self) -> None:
        while True:
            try:
                delay = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the media fetcher failed a round")
                delay = self.poll_seconds
            await self._sleep(delay)

    async def _sleep(self, delay: float) -> None:
        """Until ``wake()`` or ``delay`` seconds; cancellation goes straight through
        (``asyncio.timeout``, unlike 3.11's ``wait_for``, never holds a cancel back)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._wake.wait()
        self._wake.clear()

    async def run_once(self) -> float:
        """Start the due downloads; returns the seconds until the next one is due."""
        jobs = await self.store.pending_media(limit=100)
        now = time.monotonic()
        next_due = self.poll_seconds
        for job in jobs:
            if job.id in self._in_flight:
                continue
            due = self._not_before.get(job.id, 0.0)
            if due > now:
                next_due = min(next_due, due - now)
                continue
            task = asyncio.create_task(self._guarded(job), name=f"media-{job.id}")
            self._in_flight[job.id] = task
            task.add_done_callback(functools.partial(self._finished, job.id))
        return max(0.05, next_due)

    def _finished(self, media_id: int, task: asyncio.Task[FetchOutcome]) -> None:
        self._in_flight.pop(media_id, None)
        if not task.cancelled():
            self.wake()  # a retry may now be scheduled; recompute the next due time

    async def _guarded(self, job: MediaJob) -> FetchOutcome:
        async with self._semaphore:
            return await self.fetch(job)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until nothing is pending or in flight (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.run_once()
            if self._in_flight:
                await asyncio.wait(
                    list(self._in_flight.values()), timeout=deadline - time.monotonic()
                )
                continue
            if not await self.store.pending_media(limit=1):
                return
            await asyncio.sleep(0.02)
        raise TimeoutError("media still pending")

    # ---------------------------------------------------------------- one file

    async def fetch(self, job: MediaJob) -> FetchOutcome:
        try:
            path, size, digest, mime = await self._download(job)
        except MediaFetchError as exc:
            return await self._failed(job, str(exc), final=exc.final)
        except (httpx.HTTPError, OSError) as exc:
            return await self._failed(job, f"download failed: {type(exc).__name__}: {exc}")
        await self.store.media_ready(job.id, path=path, size=size, sha256=digest, mime_type=mime)
        self._not_before.pop(job.id, None)
        self.fetched += 1
        return FetchOutcome(job.id, True)

    async def _failed(self, job: MediaJob, error: str, *, final: bool = False) -> FetchOutcome:
        self.failed_attempts += 1
        final = final or job.attempts + 1 >= self.max_attempts
        log.warning("media %s: %s%s", job.id, error, " (giving up)" if final else "")
        await self.store.media_attempt_failed(job.id, error=error, final=final)
        if final:
            self._not_before.pop(job.id, None)
        else:
            wait = self.backoff[min(job.attempts, len(self.backoff) - 1)]
            self._not_before[job.id] = time.monotonic() + wait
        return FetchOutcome(job.id, False, error)

    async def _download(self, job: MediaJob) -> tuple[str, int, str, str | None]:
        if not job.external_id:
            raise MediaFetchError("the webhook carried no media id", final=True)
        if job.created_at is not None and self.clock.now() - job.created_at > MEDIA_ID_LIFETIME:
            raise MediaFetchError("the media id expired at Meta (after 7 days)", final=True)
        if not job.access_token:
            raise MediaFetchError("no access token for the business number's channel")
        headers = {"Authorization": f"Bearer {job.access_token}"}
        params = {"phone_number_id": job.phone_number_id} if job.phone_number_id else None
        response = await self.client.get(
            f"{self.base}/{job.external_id}", headers=headers, params=params
        )
        if response.status_code != 200:
            raise MediaFetchError(
                f"the Graph API answered {response.status_code} for the media id",
                final=response.status_code in (400, 404),
            )
        try:
            info = response.json()
        except ValueError:
            raise MediaFetchError("the Graph API answer was not JSON") from None
        url = info.get("url") if isinstance(info, dict) else None
        if not isinstance(url, str) or not url:
            raise MediaFetchError("the Graph API gave no download url")
        mime = info.get("mime_type") if isinstance(info.get("mime_type"), str) else None
        expected = info.get("sha256") if isinstance(info.get("sha256"), str) else None
        expected = expected or job.sha256
        folder = private_dir(self.media_dir / INBOUND_FOLDER)
        name = f"{job.id}{extension_for(mime or job.mime_type, job.filename)}"
        temp = folder / f".{name}.part"
        hasher = hashlib.sha256()
        size = 0
        try:
            async with self.client.stream("GET", url, headers=headers) as download:
                if download.status_code != 200:
                    raise MediaFetchError(f"the download answered {download.status_code}")
                with open_private(temp) as out:
                    async for chunk in download.aiter_bytes(CHUNK):
                        size += len(chunk)
                        if size > MAX_MEDIA_BYTES:
                            raise MediaFetchError("the file is larger than 100 MB", final=True)
                        hasher.update(chunk)
                        out.write(chunk)
            digest = hasher.digest()
            if expected and not sha256_matches(expected, digest):
                raise MediaFetchError(
                    "sha256 mismatch: the download is not the file Meta announced"
                )
            final_path = folder / name
            os.replace(temp, final_path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
        return f"{INBOUND_FOLDER}/{name}", size, hasher.hexdigest(), mime


def resolve_media_path(media_dir: Path, stored: str) -> Path:
    """A media row's ``path`` on disk: relative to the media directory unless absolute."""
    path = Path(stored)
    return path if path.is_absolute() else media_dir / path
