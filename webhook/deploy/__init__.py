"""The deploy pipeline: queue, lock, fetch, validate, publish, reparse, verify, record."""
