"""Secret values this process has read, and their redaction from text that leaves it (Slack messages).

Airflow's secrets masker does the same for Airflow's processes; `mask` registers with it too when Airflow is
loaded, and never loads it: the webhook and the dashboard run without Airflow.
"""

from __future__ import annotations

import re
import sys
import threading

MIN_LENGTH = 5  # as Airflow's [logging] min_length_masked_secret: shorter values would redact ordinary words
SKIPPED = frozenset({"airflow"})  # as Airflow's masker: the product's name is not a secret
REPLACEMENT = "***"

_values: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def mask(value: str) -> str:
    """Remember a secret value (and register it with Airflow's masker if Airflow is loaded); return it."""
    global _pattern
    if "airflow" in sys.modules:  # a task, the DAG processor, the secrets backend: Airflow's logs redact it too
        from airflow.sdk.log import mask_secret

        mask_secret(value)
    if isinstance(value, str) and len(value) >= MIN_LENGTH and value.lower() not in SKIPPED:
        with _lock:
            if value not in _values:
                _values.add(value)
                # longest first, so a secret containing another is replaced whole
                _pattern = re.compile("|".join(map(re.escape, sorted(_values, key=len, reverse=True))))
    return value


def redact(text: str) -> str:
    """The text with every remembered value replaced by ***."""
    pattern = _pattern
    return pattern.sub(REPLACEMENT, text) if pattern else text


def reset() -> None:
    """Forget every value (tests)."""
    global _pattern
    with _lock:
        _values.clear()
        _pattern = None
