"""The committed example vaults the fake Connect serves in tests, and the tokens that reach them."""

from __future__ import annotations

from pathlib import Path

EXAMPLE_ITEMS = Path(__file__).resolve().parents[1] / "devtools" / "onepassword-items.example.json"
TOKEN = "test-connect-token"
VAULT_ID = "airflowdevelopmentvault001"
VAULT_NAME = "Airflow"
INFRA_TOKEN = "test-infra-connect-token"
INFRA_VAULT_ID = "airflowinfrastructurevault"
