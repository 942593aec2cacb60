"""The declarative bootstrap: pools, variables and connections declared in dags/bootstrap.yaml, applied to
Airflow by `./stack up`, compose's airflow-init and the webhook after each successful deploy.

- spec.py: read and check the file (errors name the line);
- apply.py: create, update, leave alone, or report drift;
- stores.py: Airflow's models (up, airflow-init) or its REST API (the webhook);
- onepassword.py: read the references from the DAG secrets vault;
- __main__.py: `python -m bootstrapfile` for up and airflow-init.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "dags" / "bootstrap.yaml"
RELATIVE_PATH = "dags/bootstrap.yaml"  # in the DAG repository, for the webhook's deployed commit
