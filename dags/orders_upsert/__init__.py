"""orders_upsert: the DAG (dag.py) and its cleaning rules (cleaning.py)."""
