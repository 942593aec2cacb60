"""Where the applier reads and writes Airflow's pools, variables and connections: two ways into one metastore.

- DatabaseStore: Airflow's own models in-process (airflow.models Pool, Variable, Connection). For `./stack up`
  and compose's airflow-init: they hold the database login, and airflow-init runs before the API server
  exists; the CLI (`airflow pools set` ...) would cost seconds of start-up per object.
- RestStore: Airflow's REST API v2 with the webhook's admin login. For the post-deploy step: the webhook holds
  no database login (documentation/security.md). The API shows no passwords, so it cannot compare them.

Both return the same shapes: pool {slots, description, include_deferred}, variable {value, description},
connection {conn_type, host, port, schema, login, password, extra (dict), description}.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import quote

STATE_VARIABLE = "bootstrap_applied"
STATE_DESCRIPTION = ("Written by the bootstrap applier (dags/bootstrap.yaml): what it last applied, to tell a "
                     "change of the file from a change made by hand. Do not edit.")
CONNECTION_FIELDS = ("conn_type", "host", "port", "schema", "login", "password", "description")


class Store(Protocol):
    sees_secrets: bool

    def read(self, kind: str, name: str) -> dict[str, Any] | None: ...

    def write(self, kind: str, name: str, value: dict[str, Any], exists: bool) -> None: ...


def _extra(raw: str | None) -> dict:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {"(not JSON)": raw}
    return value if isinstance(value, dict) else {"(not a mapping)": value}


class DatabaseStore:
    """Airflow's models, one session per call (the caller's process is configured for Airflow's database)."""

    sees_secrets = True

    def _model(self, kind: str):
        from airflow.models.connection import Connection
        from airflow.models.pool import Pool
        from airflow.models.variable import Variable

        return {"pool": (Pool, Pool.pool), "variable": (Variable, Variable.key),
                "connection": (Connection, Connection.conn_id)}[kind]

    def read(self, kind: str, name: str) -> dict[str, Any] | None:
        from airflow.utils.session import create_session
        from sqlalchemy import select

        model, column = self._model(kind)
        with create_session() as session:
            row = session.scalar(select(model).where(column == name))
            if row is None:
                return None
            if kind == "pool":
                return {"slots": row.slots, "description": row.description or "",
                        "include_deferred": bool(row.include_deferred)}
            if kind == "variable":
                return {"value": row.val, "description": row.description or ""}
            return {**{f: getattr(row, f) for f in CONNECTION_FIELDS}, "description": row.description or "",
                    "extra": _extra(row.extra)}

    def write(self, kind: str, name: str, value: dict[str, Any], exists: bool) -> None:
        from airflow.utils.session import create_session
        from sqlalchemy import select

        model, column = self._model(kind)
        with create_session() as session:
            if kind == "pool":
                model.create_or_update_pool(name, value["slots"], value["description"], value["include_deferred"],
                                            session=session)
            elif kind == "variable":
                model.set(name, value["value"], description=value["description"] or None, session=session)
            else:
                row = session.scalar(select(model).where(column == name)) or model(conn_id=name)
                for key in CONNECTION_FIELDS:
                    setattr(row, key, value.get(key))
                row.set_extra(json.dumps(value.get("extra") or {}))
                session.add(row)


class RestStore:
    """Airflow's REST API v2 through `call(method, path, **requests kwargs) -> requests.Response`."""

    sees_secrets = False

    def __init__(self, call):
        self.call = call
        self.paths = {"pool": "/api/v2/pools", "variable": "/api/v2/variables", "connection": "/api/v2/connections"}

    def _answer(self, response, what: str):
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{what}: Airflow answered HTTP {response.status_code}: {response.text[:200]}")
        return response.json()

    def read(self, kind: str, name: str) -> dict[str, Any] | None:
        response = self.call("GET", f"{self.paths[kind]}/{quote(name, safe='')}")
        if response.status_code == 404:
            return None
        body = self._answer(response, f"reading {kind} {name!r}")
        if kind == "pool":
            return {"slots": body["slots"], "description": body.get("description") or "",
                    "include_deferred": bool(body.get("include_deferred"))}
        if kind == "variable":
            return {"value": body.get("value"), "description": body.get("description") or ""}
        return {**{f: body.get(f) for f in CONNECTION_FIELDS}, "description": body.get("description") or "",
                "extra": _extra(body.get("extra"))}

    def write(self, kind: str, name: str, value: dict[str, Any], exists: bool) -> None:
        if kind == "pool":
            body = {"name": name, "slots": value["slots"], "description": value["description"],
                    "include_deferred": value["include_deferred"]}
            if exists:
                body = {"pool": name, **{k: body[k] for k in ("slots", "description", "include_deferred")}}
        elif kind == "variable":
            body = {"key": name, "value": value["value"], "description": value["description"] or None}
        else:
            body = {"connection_id": name, **{f: value.get(f) for f in CONNECTION_FIELDS},
                    "extra": json.dumps(value.get("extra") or {})}
        path = self.paths[kind] + (f"/{quote(name, safe='')}" if exists else "")
        params = {}
        if kind == "pool" and name == "default_pool" and exists:
            params = {"update_mask": ["slots", "include_deferred"]}  # Airflow keeps its own description
        self._answer(self.call("PATCH" if exists else "POST", path, json=body, params=params),
                     f"writing {kind} {name!r}")
