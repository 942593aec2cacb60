# Images of the stack, built by docker compose (docker-compose.yaml):
#   default target (last stage)  the Airflow image: every Airflow component, airflow-init, the webhook and
#                                the diagnostics server run from it
#   --target relay               smee-client for the smee-relay service
# Everything is installed at build time from exact pins; nothing is installed when a container starts.

# ---- smee relay: node + smee-client, pinned ------------------------------------------------------------
FROM node:22.11.0-bookworm-slim AS relay
# smee-client 5 needs node ^20.18 or >= 22. Installed from relay/package-lock.json, as natively.
WORKDIR /opt/relay
COPY relay/package.json relay/package-lock.json ./relay/
RUN npm ci --prefix relay --no-fund --no-audit && npm cache clean --force
COPY relay/run relay/forward.mjs ./relay/
USER node

# ---- Airflow ------------------------------------------------------------------------------------------
FROM apache/airflow:3.3.2-python3.11 AS airflow

# The runtime lock (requirements.txt) pins every package, apache-airflow==3.3.2 included, so the
# image's own Airflow cannot drift. It replaces the image's constraints: the lock is the tested set.
COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt

# The project: webhook, diagnostics, opconnect and stackctl import from here; dags/ is the DAG
# folder until the first deploy. .dockerignore keeps state, secrets and tests out.
COPY --chown=airflow:0 . /opt/airflow/project
ENV PYTHONPATH=/opt/airflow/project

# Mount points of the named volumes: a new volume copies this ownership, and group 0 + g+w lets any
# AIRFLOW_UID write (the image's arbitrary-UID convention).
RUN mkdir -p /opt/airflow/state /opt/airflow/diagnostics /opt/airflow/logs \
    && chmod -R g+rwX /opt/airflow/state /opt/airflow/diagnostics /opt/airflow/logs

WORKDIR /opt/airflow/project
