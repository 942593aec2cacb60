#!/usr/bin/env bash
# Entrypoint of the redis stand-in: the official image's behaviour that our compose file relies on.
#   redis-server ARGS (or just -options, or a *.conf file): as root, own /data and re-run as `redis`;
#   turn protected mode off unless a config file or the command line sets it; then start the server.
#   anything else: run it as given (redis-cli, bash ...).
set -o errexit -o nounset -o pipefail

# True when the arguments or the config file (the first argument, when it is a file) set protected-mode.
sets_protected_mode() {
    local arg
    for arg in "$@"; do
        [[ "${arg}" == --protected-mode ]] && return 0
    done
    [[ -f "${1-}" ]] && grep -q '^[[:space:]]*protected-mode' "$1"
}

if [[ "${1-}" == -* || "${1-}" == *.conf ]]; then
    set -- redis-server "$@"
fi

if [[ "${1-}" == redis-server ]]; then
    if [[ "$(id -u)" == 0 ]]; then
        find . \! -user redis -exec chown redis '{}' +
        exec setpriv --reuid=redis --regid=redis --init-groups "${BASH_SOURCE[0]}" "$@"
    fi
    # Debian's build keeps protected mode on and then refuses every client that is not on loopback; the
    # official image turns it off (a container's port is reachable only on its networks and where published).
    shift
    if ! sets_protected_mode "$@"; then
        if [[ -f "${1-}" ]]; then
            set -- "$1" --protected-mode no "${@:2}"
        else
            set -- --protected-mode no "$@"
        fi
    fi
    set -- redis-server "$@"
    # Data files readable by redis only, unless the caller chose a umask.
    if [[ "$(umask)" == 0022 ]]; then
        umask 0077
    fi
fi

exec "$@"
