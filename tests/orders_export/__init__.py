"""Tests of the orders_export example pipeline."""
