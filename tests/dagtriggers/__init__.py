"""Tests of the DAG utilities triggers."""
