"""Airflow DAG built by the DAG factory from the YAML config beside it (documentation/writing-dags.md)."""

from dagutils.factory import dag_from_yaml

dag = dag_from_yaml(__file__)
