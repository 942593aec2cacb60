"""The event-loading -> organisation-statistics pair: two DAGs joined by the asset EVENTS (assets.py)."""
