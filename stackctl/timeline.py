"""Where `up`'s time goes: each of its steps and each program's start to healthy, in seconds from `up`'s start.

`up` keeps one in the state folder (run/up-timeline.json); `./stack up --timeline` prints it, and a benchmark
reads it with `load(state_dir)`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

FILE = Path("run") / "up-timeline.json"


class Timeline:
    """Steps of one `up`: (name, start, end), seconds since it began; a step may still be open (end None)."""

    def __init__(self) -> None:
        self.origin = time.monotonic()
        self.steps: list[dict] = []

    def now(self) -> float:
        return round(time.monotonic() - self.origin, 2)

    def begin(self, name: str) -> dict:
        step = {"name": name, "start": self.now(), "end": None}
        self.steps.append(step)
        return step

    def end(self, step: dict) -> None:
        step["end"] = self.now()

    def finish(self, name: str) -> None:
        """End the open step of that name (a program's start, ended when its health check first passes)."""
        for step in reversed(self.steps):
            if step["name"] == name and step["end"] is None:
                self.end(step)
                return

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        step = self.begin(name)
        try:
            yield
        finally:
            self.end(step)

    def as_dict(self) -> dict:
        return {"total": self.now(), "steps": [dict(step) for step in self.steps]}

    def save(self, state_dir: Path) -> None:
        path = Path(state_dir) / FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=1) + "\n")


def load(state_dir: Path) -> dict | None:
    """The last `up`'s timeline in this state folder: {"total": s, "steps": [{"name", "start", "end"}]}."""
    path = Path(state_dir) / FILE
    return json.loads(path.read_text()) if path.exists() else None


def render(timeline: dict, width: int = 40) -> str:
    """A text chart: one line per step with its start, its seconds and a bar on the common time axis."""
    total = max(timeline["total"], 0.01)
    lines = [f"{'step':34} {'start':>6} {'secs':>6}  0{' ' * (width - 2)}{total:.0f} s"]
    for step in timeline["steps"]:
        end = step["end"] if step["end"] is not None else timeline["total"]
        first = int(step["start"] / total * width)
        bar = " " * first + "#" * max(1, int(end / total * width) - first)
        mark = "" if step["end"] is not None else "  (not finished)"
        lines.append(f"{step['name'][:34]:34} {step['start']:6.1f} {end - step['start']:6.1f}  {bar}{mark}")
    return "\n".join(lines)
