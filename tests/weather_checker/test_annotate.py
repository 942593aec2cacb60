"""Annotated image: icon upper left, location upper centre, local timestamp; the rest of the scene intact."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat
from weather_checker import annotate, icon

from tests.weather_checker.samples import street_jpeg

AUSTIN = ZoneInfo("America/Chicago")
WHEN = datetime(2026, 10, 20, 13, 5, 2, tzinfo=AUSTIN)


def load(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        return image.convert("RGB")


def change(before: Image.Image, after: Image.Image, box) -> float:
    """Mean per-channel difference inside `box` (0 = identical, 255 = inverted)."""
    diff = ImageChops.difference(before.crop(box), after.crop(box))
    return sum(ImageStat.Stat(diff).mean) / 3


@pytest.fixture
def raw():
    return street_jpeg((640, 480))


@pytest.fixture
def pair(raw):
    return load(raw), load(annotate.annotate(raw, "38th & Duval", WHEN))


def test_size_is_kept_for_ordinary_snapshots(pair):
    before, after = pair
    assert after.size == before.size == (640, 480)


@pytest.mark.parametrize(("size", "expected"), [((352, 240), (480, 327)), ((3840, 2160), (1920, 1080))])
def test_tiny_and_huge_snapshots_are_resized(size, expected):
    assert load(annotate.annotate(street_jpeg(size), "x", WHEN)).size == expected


def test_icon_region_differs_from_the_raw_snapshot_and_shows_the_badge(pair):
    before, after = pair
    box = annotate.layout(*after.size).icon
    assert change(before, after, box) > 30
    # The badge is teal; count its pixels inside the icon box.
    teal = [p for p in after.crop(box).get_flattened_data() if p[2] > 120 and p[1] > 110 and p[0] < 60]
    assert len(teal) > 0.2 * (box[2] - box[0]) * (box[3] - box[1])


def test_label_and_timestamp_regions_changed(pair):
    before, after = pair
    layout = annotate.layout(*after.size)
    assert change(before, after, layout.label) > 3
    assert change(before, after, layout.timestamp) > 20


def test_the_middle_of_the_scene_is_untouched(pair):
    before, after = pair
    width, height = after.size
    assert change(before, after, (width // 4, height // 3, 3 * width // 4, height // 2)) < 3


def test_label_is_centred_at_the_top(pair):
    before, after = pair
    layout = annotate.layout(*after.size)
    left, top, right, bottom = layout.label
    middle = (left + right) // 2
    centre = change(before, after, (middle - 40, top, middle + 40, bottom))
    edge = change(before, after, (left, top, left + 40, bottom))
    assert centre > 10 > edge


def test_timestamp_is_drawn_and_changes_with_the_time(raw):
    layout = annotate.layout(640, 480)
    first = load(annotate.annotate(raw, "38th & Duval", WHEN))
    later = load(annotate.annotate(raw, "38th & Duval", WHEN.replace(hour=21, minute=47)))
    assert change(first, later, layout.timestamp) > 1
    assert change(first, later, layout.icon) < 1


def test_a_long_label_shrinks_to_fit(raw):
    label = "Martin Luther King Jr Boulevard & North Lamar Boulevard (northbound)"
    canvas = ImageDraw.Draw(Image.new("RGB", (640, 480)))
    left, _, right, _ = annotate.layout(640, 480).label
    font = annotate._fit(canvas, label, 34, right - left)
    assert canvas.textlength(label, font=font) <= right - left


def test_committed_icon_is_what_icon_py_draws():
    with Image.open(icon.ASSET) as asset:
        committed = asset.convert("RGBA")
    assert committed.size == (icon.SIZE, icon.SIZE)
    assert ImageChops.difference(committed, icon.draw_icon()).getbbox() is None


def test_icon_is_drawn_when_the_asset_is_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(icon, "ASSET", tmp_path / "missing.png")
    drawn = icon.load_icon(64)
    assert drawn.size == (64, 64) and drawn.mode == "RGBA"
    assert drawn.getpixel((32, 32))[3] == 255 and drawn.getpixel((0, 0))[3] == 0
