"""'ran N min ago', computed here and nowhere else: the server fills the page's age slot on every request.

The weather-checker writes its page with an empty slot, <span id="age" data-finished="ISO"></span>, and no
age of its own; the slot carries the run's time in the page itself, so the age always matches the page being
served, even while a run is publishing the next one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape, unescape

SLOT_START, SLOT_END = '<span id="age" data-finished="', '"></span>'
STALE_AFTER_SECONDS = 600  # the DAG runs every 5 minutes in production: two missed runs make the page stale


def words(seconds: float) -> str:
    if seconds < 90:
        return f"{max(0, round(seconds))} s ago"
    if seconds < 5400:
        return f"{round(seconds / 60)} min ago"
    return f"{round(seconds / 3600)} h ago"


def element(finished: str, now: datetime) -> str:
    """The age as a span: 'fresh' (green), or 'stale' (red) once older than STALE_AFTER_SECONDS."""
    try:
        when = datetime.fromisoformat(finished)
    except ValueError:
        return f'<span id="age" class="age stale">ran at an unreadable time {escape(finished)}</span>'
    seconds = (now - (when if when.tzinfo else when.replace(tzinfo=UTC))).total_seconds()
    stale = seconds > STALE_AFTER_SECONDS
    text = f"ran {words(seconds)}" + (f" (stale: older than {STALE_AFTER_SECONDS // 60} min)" if stale else "")
    return f'<span id="age" class="age {"stale" if stale else "fresh"}">{escape(text)}</span>'


def fill(page: str, now: datetime | None = None) -> str:
    """The page with its age slot filled for `now`; a page without a slot comes back unchanged."""
    head, found, rest = page.partition(SLOT_START)
    finished, closed, tail = rest.partition(SLOT_END)
    if not (found and closed):
        return page
    return head + element(unescape(finished), now or datetime.now(UTC)) + tail
