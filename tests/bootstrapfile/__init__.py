"""Tests of the declarative bootstrap (bootstrapfile/)."""
