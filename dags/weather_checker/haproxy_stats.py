"""Read HAProxy's stats CSV and judge its backends."""

from __future__ import annotations

import csv
import io

from weather_checker.results import FAIL, PASS, WARN, check

# HAProxy's backends that only have a server when their compose profile runs (haproxy/haproxy.cfg answers 503
# naming the profile otherwise): without the profile they are not the stack's fault.
PROFILE_BACKENDS = {"monitoring": ("prometheus", "alertmanager", "dashboard")}


def parse(text: str) -> list[dict[str, str]]:
    """Rows of the `;csv` stats export (its header line starts with '# ')."""
    text = text.lstrip()
    if not text.startswith("# pxname,"):
        raise ValueError(f"not an HAProxy stats CSV (starts with {text[:40]!r})")
    return list(csv.DictReader(io.StringIO(text[2:])))


def judge(rows: list[dict[str, str]], profiles: tuple[str, ...] = ()) -> dict:
    """Fail when a backend is not UP, warn when a backend is UP with some servers down; the backends of a compose
    profile not in `profiles` (COMPOSE_PROFILES) are left out."""
    off = {name for profile, names in PROFILE_BACKENDS.items() if profile not in profiles for name in names}
    rows = [r for r in rows if r.get("pxname") not in off]
    servers = [r for r in rows if r.get("svname") not in ("BACKEND", "FRONTEND")]
    # Backends without servers (the stats page, stick tables) carry no traffic to check.
    serving = {s.get("pxname") for s in servers}
    backends = [r for r in rows if r.get("svname") == "BACKEND" and r.get("pxname") in serving]
    if not backends:
        return check("haproxy", FAIL, "HAProxy stats list no backends with servers")
    down = [b["pxname"] for b in backends if not b.get("status", "").startswith("UP")]
    sick = [f"{s['pxname']}/{s['svname']} {s.get('status', '?')} {s.get('check_status', '')}".strip()
            for s in servers if s.get("status", "").split(" ")[0] in ("DOWN", "MAINT", "NOLB", "DRAIN")]
    if down:
        detail = f"backends down: {', '.join(down)}"
        if sick:
            detail += f" (servers: {'; '.join(sick)})"
        return check("haproxy", FAIL, detail)
    names = ", ".join(b["pxname"] for b in backends)
    if sick:
        detail = f"{len(backends)} backends up ({names}) but servers down: {'; '.join(sick)}"
        return check("haproxy", WARN, detail)
    return check("haproxy", PASS, f"{len(backends)} backends up: {names}")
