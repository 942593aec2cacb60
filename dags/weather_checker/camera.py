"""The traffic-camera snapshot: download, prove it is a whole image, and spot the offline placeholder."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from PIL import Image, UnidentifiedImageError

from weather_checker.results import StepFailed

MAX_BYTES = 10 * 1024 * 1024
# The city's uploader writes its placeholder once and then stops, so an old image means an offline camera.
STALE_AFTER = timedelta(minutes=30)
# Share of downsampled pixels in one grey band above which a picture is a flat card, not a street.
FLAT_SHARE = 0.97


@dataclass(frozen=True)
class Snapshot:
    """A validated camera image and what we know about where it came from."""

    data: bytes
    width: int
    height: int
    content_type: str
    last_modified: datetime | None
    sha256: str


def _preview(data: bytes) -> str:
    text = data[:60].decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def validate(data: bytes, content_type: str, camera_id: str) -> tuple[int, int]:
    """Return (width, height) of a complete image; raise StepFailed saying what the bytes really are."""
    if not data:
        raise StepFailed(f"camera {camera_id} answered an empty body ({content_type or 'no content type'})")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        # verify() does not decode pixels; load() is what notices a truncated JPEG.
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            return image.size
    except UnidentifiedImageError:
        raise StepFailed(f"camera {camera_id} answered {content_type or 'no content type'} "
                         f"({len(data)} bytes) that is not an image: {_preview(data)!r}") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        reason = f"camera {camera_id} image is truncated or corrupt ({len(data)} bytes): {error}"
        raise StepFailed(reason) from None


def offline_reason(snapshot: Snapshot, placeholder_digests: tuple[str, ...], now: datetime) -> str | None:
    """Why this image looks like the 'camera unavailable' placeholder, or None for a live picture."""
    if snapshot.sha256 in placeholder_digests:
        return "image is the known 'unavailable' placeholder (CAMERA_PLACEHOLDER_SHA256)"
    if snapshot.last_modified and now - snapshot.last_modified > STALE_AFTER:
        minutes = int((now - snapshot.last_modified).total_seconds() // 60)
        return f"image has not changed for {minutes} min (Last-Modified); the camera looks offline"
    with Image.open(io.BytesIO(snapshot.data)) as image:
        grey = image.convert("L").resize((64, 64))
    counts = grey.histogram()
    bands = [sum(counts[i:i + 8]) for i in range(0, 256, 8)]
    if max(bands) / (64 * 64) >= FLAT_SHARE:
        return "image is almost one flat colour, like the 'unavailable' placeholder card"
    return None


def _last_modified(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _read_capped(response: requests.Response) -> bytes:
    # iter_content turns urllib3 read errors into requests exceptions, which the caller classifies.
    chunks, size = [], 0
    for chunk in response.iter_content(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BYTES:
            break
    return b"".join(chunks)


def fetch(session: requests.Session, url: str, camera_id: str, timeout: float) -> Snapshot:
    """Download and validate one snapshot; 5xx and network trouble are transient, the rest are not."""
    try:
        with session.get(url, timeout=timeout, stream=True) as response:
            if response.status_code >= 500:
                raise StepFailed(f"camera {camera_id} answered {response.status_code} at {url}",
                                 transient=True)
            if response.status_code != 200:
                raise StepFailed(f"camera {camera_id} answered {response.status_code} at {url}")
            data = _read_capped(response)
            content_type = response.headers.get("Content-Type", "")
            modified = _last_modified(response.headers.get("Last-Modified"))
    except requests.Timeout:
        raise StepFailed(f"camera {camera_id} timed out after {timeout:g} s at {url}",
                         transient=True) from None
    except requests.RequestException as error:
        raise StepFailed(f"camera {camera_id} request failed: {type(error).__name__} at {url}",
                         transient=True) from None
    if len(data) > MAX_BYTES:
        raise StepFailed(f"camera {camera_id} image is larger than {MAX_BYTES} bytes at {url}")
    width, height = validate(data, content_type, camera_id)
    return Snapshot(data, width, height, content_type, modified, hashlib.sha256(data).hexdigest())
