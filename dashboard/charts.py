"""Inline SVG charts, drawn on the server: stacked bars, lines over time, horizontal bars. No script, no CDN.

Every chart takes plain numbers and labels and returns markup (Markup: already escaped); a chart with no data
is the caller's business (the page shows a sentence instead).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

# One colour per meaning, the same on every chart.
STATE_COLOURS = {"success": "#2e7d32", "failed": "#c62828", "running": "#1565c0", "queued": "#9e9e9e"}
PALETTE = ("#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#5d4037", "#9e9d24")
WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 12, 48


def colour(name: str, index: int) -> str:
    return STATE_COLOURS.get(name, PALETTE[index % len(PALETTE)])


def number(value: float) -> str:
    """A short label: 3, 2.5, 1.2k, 3.4M."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def nice_top(value: float) -> float:
    """The y axis' top: the smallest 1, 2, 4, 8 or 10 times a power of ten at or above value (the axis has
    four steps, so those make round tick labels)."""
    if value <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(value))
    return next(step * scale for step in (1, 2, 4, 8, 10) if step * scale >= value * (1 - 1e-9))


def _svg(body: list[str], label: str, height: int = HEIGHT) -> Markup:
    return Markup(f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {height}" '
                  f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">' + "".join(body)
                  + "</svg>")


def _y_axis(top: float, fmt: Callable[[float], str]) -> list[str]:
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
                     f'{escape(fmt(top * i / 4))}</text>')
    return parts


def _legend(names: Sequence[str], y: float) -> list[str]:
    """One line of coloured names under the chart; long names shortened, and those that do not fit counted."""
    parts, x = [], LEFT
    for i, name in enumerate(names):
        short = name if len(name) <= 28 else name[:27] + "…"
        if x + 24 + 6.5 * len(short) > WIDTH:
            parts.append(f'<text x="{x}" y="{y}" font-size="11" fill="#333">+{len(names) - i} more</text>')
            break
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour(name, i)}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}" font-size="11" fill="#333"><title>{escape(name)}</title>'
                     f'{escape(short)}</text>')
        x += 24 + 6.5 * len(short)
    return parts


def stacked_bars(labels: Sequence[str], series: dict[str, Sequence[float]], title: str) -> Markup:
    """One bar per label, one stacked segment per series (a state), with the total above each bar."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = nice_top(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    body = _y_axis(top, lambda v: f"{v:g}")
    for i, label in enumerate(labels):
        x, base = LEFT + i * slot + slot * 0.15, TOP + plot_h
        for j, (name, values) in enumerate(series.items()):
            h = plot_h * values[i] / top
            if h > 0:
                body.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                            f'fill="{colour(name, j)}"><title>{escape(label)}: {values[i]:g} {escape(name)}'
                            f'</title></rect>')
            base -= h
        if totals[i]:
            body.append(f'<text x="{x + slot * 0.35:.1f}" y="{base - 3:.1f}" text-anchor="middle" font-size="11">'
                        f'{totals[i]:g}</text>')
        body.append(f'<text x="{x + slot * 0.35:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" '
                    f'font-size="11" fill="#555">{escape(label)}</text>')
    body += _legend(list(series), HEIGHT - 10)
    return _svg(body, title)


def lines(series: dict[str, Sequence[tuple[float, float]]], title: str, tz: ZoneInfo,
          fmt: Callable[[float], str] = number) -> Markup:
    """One line per series of (unix time, value) points; the x axis in the team's time zone."""
    points = [p for values in series.values() for p in values]
    start, end = min(t for t, _ in points), max(t for t, _ in points)
    span = max(end - start, 1.0)
    top = nice_top(max((v for _, v in points), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    body = _y_axis(top, fmt)
    for i in range(5):
        t = start + span * i / 4
        x = LEFT + plot_w * i / 4
        body.append(f'<text x="{x:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" font-size="11" fill="#555">'
                    f'{datetime.fromtimestamp(t, tz):%H:%M}</text>')
    for j, (name, values) in enumerate(series.items()):
        path = " ".join(f"{LEFT + plot_w * (t - start) / span:.1f},{TOP + plot_h - plot_h * v / top:.1f}"
                        for t, v in values)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour(name, j)}" stroke-width="2">'
                    f'<title>{escape(name)}: {escape(fmt(values[-1][1]))} now</title></polyline>')
        # the newest point marked, so a series of one point (a metric that just appeared) shows too
        x, y = path.rsplit(" ", 1)[-1].split(",")
        body.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour(name, j)}"/>')
    body += _legend(list(series), HEIGHT - 10)
    return _svg(body, title)


def hbars(items: Sequence[tuple[str, float]], title: str, fmt: Callable[[float], str] = number) -> Markup:
    """One horizontal bar per (label, value), longest first as given; the value written at the bar's end."""
    row, label_w = 22, 230
    height = TOP + row * len(items) + 8
    top = max((v for _, v in items), default=0) or 1.0
    bar_w = WIDTH - label_w - RIGHT - 60
    body = []
    for i, (label, value) in enumerate(items):
        y = TOP + i * row
        w = max(bar_w * value / top, 1)
        short = label if len(label) <= 34 else label[:33] + "…"
        body.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" font-size="11">'
                    f'<title>{escape(label)}</title>{escape(short)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{PALETTE[0]}"/>')
        body.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" font-size="11">{escape(fmt(value))}</text>')
    return _svg(body, title, height)
