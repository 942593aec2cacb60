"""Triggers of the DAG utilities (dags/dagutils). They run in the triggerer, which imports them from the stack's
own code (PYTHONPATH), not from the deployed DAG bundle: a change here needs the triggerer restarted."""
