"""Write the orders CSV: atomically, safe to open in a spreadsheet, old days removed."""

from __future__ import annotations

import csv
import os
import secrets
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

KEEP_DAYS = 30
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_export(folder: Path, name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """Write folder/name in one rename (a download never sees half a file); return the number of rows."""
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    tmp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
    # 0644 less the worker's umask (007 natively: the diagnostics server reads through the group, others not)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow([spreadsheet_safe(value) for value in row])
                count += 1
        os.replace(tmp, folder / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


def remove_old(folder: Path, prefix: str, today: date, keep_days: int = KEEP_DAYS) -> list[str]:
    """Delete prefix-YYYY-MM-DD.csv files older than keep_days; return their names."""
    removed = []
    for path in folder.glob(f"{prefix}-????-??-??.csv"):
        try:
            day = date.fromisoformat(path.stem.removeprefix(prefix + "-"))
        except ValueError:
            continue
        if day < today - timedelta(days=keep_days):
            path.unlink()
            removed.append(path.name)
    return removed
