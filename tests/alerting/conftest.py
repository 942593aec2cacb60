"""The deploy webhook's fixtures (a real origin, the app, its runner, the fake Airflow API), for the deploy alerts."""

from tests.webhook.conftest import (  # noqa: F401 - fixtures
    airflow,
    airflow_app,
    airflow_runner,
    clean_env,
    make_app,
    make_runner,
    origin,
    runners,
    validator,
)
