"""Server-side 'ran N min ago': rewrite the page's age element from its data-finished timestamp.

The weather page marks it as <span id="age" ... data-finished="ISO" data-stale-after="600">...</span>;
age.js does the same in the browser, this covers clients without JavaScript and the first paint.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape, unescape

AGE_SPAN = re.compile(r'<span id="age"([^>]*)>[^<]*</span>')
FINISHED = re.compile(r'\bdata-finished="([^"]*)"')
STALE_AFTER = re.compile(r'\bdata-stale-after="(\d+)"')


def words(seconds: float) -> str:
    if seconds < 90:
        return f"{max(0, round(seconds))} s ago"
    if seconds < 5400:
        return f"{round(seconds / 60)} min ago"
    return f"{round(seconds / 3600)} h ago"


def render(finished: str, stale_after: int, now: datetime) -> str:
    try:
        when = datetime.fromisoformat(finished)
    except ValueError:
        return f'<span id="age" class="age stale">ran at an unreadable time {escape(finished)}</span>'
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (now - when).total_seconds()
    stale = seconds > stale_after
    text = f"ran {words(seconds)}" + (f" (stale: older than {stale_after // 60} min)" if stale else "")
    return (f'<span id="age" class="age {"stale" if stale else "fresh"}" data-finished="{escape(finished)}" '
            f'data-stale-after="{stale_after}">{escape(text)}</span>')


def rewrite(page: str, now: datetime | None = None) -> str:
    """The page with its age element recomputed for `now`; pages without one come back unchanged."""
    now = now or datetime.now(UTC)

    def replace(match: re.Match) -> str:
        finished, stale_after = FINISHED.search(match.group(1)), STALE_AFTER.search(match.group(1))
        if not finished:
            return match.group(0)
        return render(unescape(finished.group(1)), int(stale_after.group(1)) if stale_after else 600, now)

    return AGE_SPAN.sub(replace, page, count=1)
