"""Tests of the orders_upsert example pipeline."""
