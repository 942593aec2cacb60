"""1Password Connect for the stack: one client, a strict interface and a forgiving secrets backend.

- `opconnect.secrets`: load_dict, get_secret, get_item_by_title, set_secret; errors name the item, field and
  vault, never a value or a token (tasks through dagutils.onepassword, the webhook through infra_vault).
- `opconnect.backend.OnePasswordBackend`: Airflow's [secrets] backend; answers None instead of raising.
- `opconnect.settings`: the OP_* variables, read in one place, for the DAG vault or the infrastructure vault.
"""
