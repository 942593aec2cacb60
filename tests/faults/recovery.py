"""Measured recovery times, one JSON line per fault in test-artifacts/fault-recovery.jsonl, in the format
test_native_faults.py writes (documentation/reliability.md quotes them)."""

from __future__ import annotations

import json
import time
from pathlib import Path

RECORD = Path(__file__).resolve().parents[2] / "test-artifacts" / "fault-recovery.jsonl"


def record(fault: str, since: float, tries: int, stack: str = "native") -> float:
    """Append the time from `since` (time.monotonic()) to now; return it."""
    seconds = round(time.monotonic() - since, 1)
    RECORD.parent.mkdir(exist_ok=True)
    with RECORD.open("a") as handle:
        handle.write(json.dumps({"fault": fault, "stack": stack, "seconds_to_success": seconds,
                                 "tries": tries}) + "\n")
    return seconds
