#!/usr/bin/env bash
# Entrypoint of the postgres stand-in: the official image's contract that our compose file relies on.
#   postgres ARGS (or just -options): as root, own PGDATA and re-run as `postgres`; on an empty PGDATA run
#   initdb with POSTGRES_USER (default postgres) / POSTGRES_PASSWORD (required), scram-sha-256 for network
#   clients, listen on all interfaces, create POSTGRES_DB (default: the user's name); then start the server.
#   anything else: run it as given (psql, pg_isready, bash ...).
# Not supported: *_FILE variables, POSTGRES_HOST_AUTH_METHOD, POSTGRES_INITDB_ARGS, /docker-entrypoint-initdb.d.
set -o errexit -o nounset -o pipefail

# True when the arguments only ask postgres for help or its version (no data directory is needed).
only_asks() {
    local arg
    for arg in "$@"; do
        case "${arg}" in
            -'?' | --help | --describe-config | -V | --version) return 0 ;;
        esac
    done
    return 1
}

init_cluster() {
    if [[ -z "${POSTGRES_PASSWORD:-}" ]]; then
        echo "postgres: the database is uninitialized and POSTGRES_PASSWORD is not set:" \
            "set it to a non-empty value (the superuser's password)" >&2
        exit 1
    fi
    local user="${POSTGRES_USER:-postgres}"
    local db="${POSTGRES_DB:-${user}}"
    initdb --username="${user}" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD}") \
        --auth-local=trust --auth-host=scram-sha-256
    echo "listen_addresses = '*'" >> "${PGDATA}/postgresql.conf"
    echo "host all all all scram-sha-256" >> "${PGDATA}/pg_hba.conf"
    if [[ "${db}" != postgres ]]; then
        # A server on the socket only, for as long as CREATE DATABASE takes.
        pg_ctl -D "${PGDATA}" -o "-c listen_addresses='' -p 5432" -w start
        psql -v ON_ERROR_STOP=1 --no-psqlrc -p 5432 --username="${user}" --dbname=postgres --set db="${db}" \
            <<< 'CREATE DATABASE :"db";'
        pg_ctl -D "${PGDATA}" -m fast -w stop
    fi
    echo "postgres: initialized ${PGDATA} (superuser ${user}, database ${db})"
}

if [[ "${1-}" == -* ]]; then
    set -- postgres "$@"
fi

if [[ "${1-}" == postgres ]] && ! only_asks "$@"; then
    if [[ "$(id -u)" == 0 ]]; then
        mkdir -p "${PGDATA}" /var/run/postgresql
        find "${PGDATA}" /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
        exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
    fi
    mkdir -p "${PGDATA}"
    # postgres refuses a data directory that others can read; ignore failure on odd mounts, as it will say so.
    chmod 700 "${PGDATA}" || true
    if [[ ! -s "${PGDATA}/PG_VERSION" ]]; then
        init_cluster
    fi
fi

exec "$@"
