"""The native stack: the same services as docker-compose.yaml, as real processes under supervisord."""
