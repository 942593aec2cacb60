"""Annotate a camera snapshot: icon upper left, location upper centre, local timestamp lower left."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageDraw, ImageFont

from weather_checker.icon import load_icon

MARGIN = 10
MIN_WIDTH, MAX_WIDTH = 480, 1920


def working_size(width: int, height: int) -> tuple[int, int]:
    """Small snapshots are enlarged so the text stays legible; huge ones are shrunk to keep pages light."""
    target = min(max(width, MIN_WIDTH), MAX_WIDTH)
    return target, max(1, round(height * target / width))


@dataclass(frozen=True)
class Layout:
    """Boxes (left, top, right, bottom) the annotation draws into; the tests read them too."""

    icon: tuple[int, int, int, int]
    label: tuple[int, int, int, int]
    timestamp: tuple[int, int, int, int]
    text_size: int


def layout(width: int, height: int) -> Layout:
    icon = max(32, min(96, width // 8))
    text = max(14, min(48, height // 14))
    return Layout(
        icon=(MARGIN, MARGIN, MARGIN + icon, MARGIN + icon),
        label=(MARGIN + icon + MARGIN, MARGIN, width - MARGIN - icon - MARGIN, MARGIN + text + 12),
        timestamp=(0, height - text - 2 * MARGIN, width, height),
        text_size=text,
    )


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, max_width: int) -> ImageFont.FreeTypeFont:
    """The default FreeType font, shrunk until `text` fits in `max_width`."""
    while True:
        font = ImageFont.load_default(size=size)
        if size <= 10 or draw.textlength(text, font=font) <= max_width:
            return font
        size -= 2


def annotate(data: bytes, label: str, taken_at: datetime) -> bytes:
    """Return a JPEG of the snapshot with the icon, `label` and `taken_at` (already in the team's zone)."""
    with Image.open(io.BytesIO(data)) as raw:
        base = raw.convert("RGB")
    size = working_size(*base.size)
    if size != base.size:
        base = base.resize(size, Image.Resampling.LANCZOS)
    width, height = size
    box = layout(width, height)
    text_size = box.text_size
    canvas = base.convert("RGBA")
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    # A translucent band keeps the timestamp readable on bright or busy scenes.
    draw.rectangle(box.timestamp, fill=(0, 0, 0, 150))
    stamp = taken_at.strftime("%m/%d/%Y %H:%M:%S %Z")
    stamp_font = ImageFont.load_default(size=text_size)
    draw.text((MARGIN, box.timestamp[1] + MARGIN), stamp, font=stamp_font, fill=(255, 255, 255, 255))
    left, top, right, _ = box.label
    label_font = _fit(draw, label, text_size, right - left)
    label_width = draw.textlength(label, font=label_font)
    draw.text(((width - label_width) / 2, top), label, font=label_font, fill=(255, 255, 255, 255),
              stroke_width=2, stroke_fill=(0, 0, 0, 255))
    icon_box = box.icon
    overlay.alpha_composite(load_icon(icon_box[2] - icon_box[0]), dest=icon_box[:2])
    result = Image.alpha_composite(canvas, overlay).convert("RGB")
    out = io.BytesIO()
    result.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()
