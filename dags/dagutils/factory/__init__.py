"""The DAG factory: one DAG per YAML config under dags/configs/ (documentation/writing-dags.md)."""

from dagutils.factory.build import ConfigError, dag_from_yaml

__all__ = ["ConfigError", "dag_from_yaml"]
