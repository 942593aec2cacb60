"""The forgiving interface as Airflow's secrets backend: OnePasswordLookup's answers, None instead of raising.

Configure: [secrets] backend = opconnect.backend.OnePasswordBackend, backend_kwargs as OnePasswordLookup's
(prefixes, sep, vault, timings). The item layout is in opconnect.lookup.
"""

from __future__ import annotations

from airflow.secrets import BaseSecretsBackend

from opconnect.lookup import OnePasswordLookup


class OnePasswordBackend(OnePasswordLookup, BaseSecretsBackend):
    """Connections and variables from 1Password items; kwargs are prefixes, vault and timings."""
