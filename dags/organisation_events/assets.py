"""What the pair shares: the events table as an Airflow asset, and the pool both take warehouse slots from."""

from __future__ import annotations

from airflow.sdk import Asset

# event_loading updates it; organisation_statistics is scheduled on it, so it runs only after a load succeeded
EVENTS = Asset("warehouse-events")
# slots come from dags/bootstrap.yaml: how many tasks may write to the warehouse at once, across both DAGs
WAREHOUSE_POOL = "warehouse"
