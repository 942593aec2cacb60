"""orders_export: the daily CSV of the warehouse's orders (dag.py, csv_file.py)."""
