"""Images attached to a message: sniffed, size-capped, re-encoded without metadata, as data URLs."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

from agent_app.errors import AppError

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/png"}
"""What is accepted, and what it is stored as (a GIF keeps its first frame, as PNG)."""
EXTENSIONS = ("png", "jpg", "jpeg", "webp", "gif")
"""File names the chat box takes as images (the bytes decide what they really are)."""
MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
"""Longer sides are scaled down: providers resize anyway, and the turn is stored with its images."""


class ImageRejectedError(AppError):
    """An attachment that is not an image we take, or too large."""

    kind, key = "image_rejected", "error.image_unreadable"


@dataclass(frozen=True)
class Image:
    """One attached image, ready to send: re-encoded, metadata (EXIF, GPS) gone."""

    mime: str
    data: bytes
    width: int
    height: int

    def data_url(self) -> str:
        """The image as a `data:` URL (how the chat APIs take inline images)."""
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def is_image_file(name: str, raw: bytes) -> bool:
    """Whether a dropped file is meant as an image (by its name or its first bytes)."""
    if name.lower().rsplit(".", 1)[-1] in EXTENSIONS:
        return True
    return raw.startswith(MAGIC) or (raw[:4] == b"RIFF" and raw[8:12] == b"WEBP")


def prepare_image(raw: bytes, *, max_bytes: int) -> Image:
    """Check and re-encode an uploaded image; ImageRejectedError says why not, in words."""
    from PIL import Image as PILImage
    from PIL import ImageOps, UnidentifiedImageError

    if not raw:
        raise ImageRejectedError("empty", key="error.image_empty")
    if len(raw) > max_bytes:
        raise ImageRejectedError(
            "too big", key="error.image_too_big", limit=f"{max_bytes / 1_000_000:g}"
        )
    try:
        with PILImage.open(io.BytesIO(raw)) as img:
            if img.format not in FORMATS:
                raise ImageRejectedError(str(img.format), key="error.image_type")
            if img.width * img.height > MAX_PIXELS:
                raise ImageRejectedError(
                    "pixels", key="error.image_too_big", limit=f"{max_bytes / 1_000_000:g}"
                )
            fmt = str(img.format)
            img.seek(0)
            pic = ImageOps.exif_transpose(img)  # keep how it looked, then drop the EXIF itself
            pic.thumbnail((MAX_SIDE, MAX_SIDE))
            return _encode(pic, FORMATS[fmt])
    except ImageRejectedError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, PILImage.DecompressionBombError):
        raise ImageRejectedError("unreadable") from None


def _encode(pic: object, mime: str) -> Image:
    from PIL import Image as PILImage

    assert isinstance(pic, PILImage.Image)
    out = io.BytesIO()
    if mime == "image/jpeg":
        pic.convert("RGB").save(out, "JPEG", quality=90)
    elif mime == "image/webp":
        pic.save(out, "WEBP", quality=90)
    else:
        pic.convert("RGBA" if "A" in pic.getbands() or pic.mode == "P" else "RGB").save(out, "PNG")
    return Image(mime, out.getvalue(), pic.width, pic.height)


def message_content(text: str, images: list[Image]) -> str | list[str | dict[Any, Any]]:
    """A user message's content: the text alone, or the text and its images as content blocks."""
    if not images:
        return text
    blocks: list[str | dict[Any, Any]] = [{"type": "text", "text": text}]
    blocks += [{"type": "image_url", "image_url": {"url": img.data_url()}} for img in images]
    return blocks
