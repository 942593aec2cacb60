"""The latest benchmark figures, machine-readable: benchmarks/results.json, one entry per figure.

A benchmark script records what it measured with `record(...)`; the entries of figures it did not measure stay as
they were, so each script owns its own names. A later change compares against the file (`compare`).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results.json"


@dataclass(frozen=True)
class Figure:
    """One figure: the median over runs (`value`) and the spread. `goal`: the upper limit, in `unit` (None: no
    goal). `load`: what else ran on the machine (`quiet`, or the load average it was measured under)."""

    name: str
    value: float
    unit: str
    goal: float | None
    low: float
    high: float
    runs: int
    command: str
    date: str
    commit: str
    load: str

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.value <= self.goal


def summary(values: list[float]) -> tuple[float, float, float]:
    """Minimum, median and maximum of the runs."""
    if not values:
        raise ValueError("no values to summarise")
    return min(values), statistics.median(values), max(values)


def percentile(values: list[float], pct: float) -> float:
    """The value at `pct` per cent of the sorted values (nearest rank, no interpolation): p50 of 1..10 is 5 or 6,
    p95 of 20 values the 19th."""
    if not values:
        raise ValueError("no values")
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile {pct} is not between 0 and 100")
    ordered = sorted(values)
    return ordered[round(pct / 100 * (len(ordered) - 1))]


def git_commit(project: Path = RESULTS.parent.parent) -> str:
    """The checked-out commit, with `+changes` when the working tree differs from it."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True)
    if head.returncode != 0:
        return "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project,
                           capture_output=True, text=True).stdout.strip()
    return head.stdout.strip() + ("+changes" if dirty else "")


def figure(name: str, values: list[float], unit: str, goal: float | None, command: str, load: str,
           commit: str | None = None, date: str | None = None) -> Figure:
    low, middle, high = summary(values)
    return Figure(name, round(middle, 3), unit, goal, round(low, 3), round(high, 3), len(values), command,
                  date or time.strftime("%Y-%m-%dT%H:%M:%S%z"), commit or git_commit(), load)


def load(path: Path = RESULTS) -> dict[str, Figure]:
    if not path.exists():
        return {}
    entries = json.loads(path.read_text())
    return {entry["name"]: Figure(**entry) for entry in entries}


def record(figures: list[Figure], path: Path = RESULTS) -> None:
    """Replace these figures' entries (by name) and keep every other one; sorted by name for small diffs."""
    known = load(path)
    known.update({f.name: f for f in figures})
    entries = [asdict(known[name]) for name in sorted(known)]
    path.write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n")


def compare(old: dict[str, Figure], new: list[Figure]) -> list[str]:
    """One line per figure of `new`: its value against the recorded one and against its goal."""
    lines = []
    for f in new:
        before = old.get(f.name)
        was = f"was {before.value:g} {before.unit}" if before else "new"
        goal = "" if f.goal is None else (" goal met" if f.met else f" goal ≤ {f.goal:g} NOT met")
        lines.append(f"{f.name}: {f.value:g} {f.unit} ({f.low:g}–{f.high:g}, {f.runs} runs; {was}){goal}")
    return lines
