"""The camera-and-signal icon drawn with Pillow; `python -m weather_checker.icon` rewrites the asset."""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

ASSET = Path(__file__).with_name("assets") / "camera-signal.png"
SIZE = 128


def draw_icon(size: int = SIZE) -> Image.Image:
    """A round teal badge with a street camera on a mast and a three-lamp traffic signal (RGBA)."""
    scale = 4  # draw large and shrink for smooth edges
    s = size * scale

    def box(*coords: float) -> list[float]:
        return [c * s / 128 for c in coords]

    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse(box(2, 2, 126, 126), fill=(0, 150, 170, 255), outline=(255, 255, 255, 255),
                 width=int(5 * s / 128))
    # Camera: mast, arm, body, hood and lens.
    draw.rectangle(box(30, 56, 36, 104), fill=(235, 240, 245, 255))
    draw.rectangle(box(22, 100, 44, 106), fill=(235, 240, 245, 255))
    draw.rounded_rectangle(box(16, 36, 62, 58), radius=4 * s / 128, fill=(245, 248, 250, 255))
    draw.polygon(box(62, 38, 72, 33, 72, 61, 62, 56), fill=(210, 220, 228, 255))
    draw.ellipse(box(64, 41, 72, 53), fill=(20, 30, 40, 255))
    draw.rectangle(box(14, 32, 56, 36), fill=(200, 210, 220, 255))
    # Signal: head with red, amber and green lamps on its own pole.
    draw.rectangle(box(89, 96, 95, 112), fill=(40, 45, 50, 255))
    draw.rounded_rectangle(box(78, 24, 106, 98), radius=6 * s / 128, fill=(30, 34, 38, 255))
    for centre_y, colour in ((37, (230, 40, 40, 255)), (61, (245, 190, 20, 255)), (85, (40, 200, 90, 255))):
        draw.ellipse(box(84, centre_y - 8, 100, centre_y + 8), fill=colour)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def load_icon(size: int) -> Image.Image:
    """The committed asset at `size` pixels, or a freshly drawn icon if the asset is missing."""
    try:
        with Image.open(ASSET) as asset:
            icon = asset.convert("RGBA")
    except (FileNotFoundError, OSError):
        icon = draw_icon()
    return icon.resize((size, size), Image.Resampling.LANCZOS)


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else ASSET
    target.parent.mkdir(parents=True, exist_ok=True)
    draw_icon().save(target, "PNG", optimize=True)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
