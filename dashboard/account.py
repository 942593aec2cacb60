"""`python -m dashboard.account`: the dashboard's own Airflow login, a Viewer (reads DAGs, runs and tasks; changes
nothing), made or brought to DASHBOARD_AIRFLOW_PASSWORD. The compose service dashboard-account runs it once
before the dashboard starts (natively too); it is the only part of the dashboard that touches Airflow's database.
"""

from __future__ import annotations

import os
import sys

ROLE = "Viewer"


def ensure(username: str, password: str) -> str:
    """Make the user (role Viewer) or set its password and role; say which."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        security = appbuilder.sm
        role = security.find_role(ROLE)
        user = security.find_user(username=username)
        if user is None:
            if not security.add_user(username, "Dashboard", "Viewer", f"{username}@localhost", role, password):
                raise SystemExit(f"dashboard-account: could not create the Airflow user {username!r}")
            return f"created the Airflow user {username!r} (role {ROLE})"
        if [r.name for r in user.roles] == [ROLE] and security.check_password(username, password):
            return f"the Airflow user {username!r} is ready"
        user.roles = [role]
        security.update_user(user)
        security.reset_password(user.id, password)
        return f"set the Airflow user {username!r}'s role to {ROLE} and its password to DASHBOARD_AIRFLOW_PASSWORD"


def main() -> int:
    username = os.environ.get("DASHBOARD_AIRFLOW_USERNAME", "")
    password = os.environ.get("DASHBOARD_AIRFLOW_PASSWORD", "")
    if not (username and password):
        print("dashboard-account: DASHBOARD_AIRFLOW_USERNAME and DASHBOARD_AIRFLOW_PASSWORD must be set",
              file=sys.stderr)
        return 2
    print(f"dashboard-account: {ensure(username, password)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
