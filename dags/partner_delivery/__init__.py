"""partner_delivery: a deferrable sensor waiting for an outside event (dag.py)."""
