"""Airflow secrets backend for 1Password Connect; configure as onepassword_backend.OnePasswordBackend."""

from onepassword_backend.backend import OnePasswordBackend

__all__ = ["OnePasswordBackend"]
