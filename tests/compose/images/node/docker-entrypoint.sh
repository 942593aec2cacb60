#!/bin/sh
# Entrypoint of the node stand-in, as the official image's: when the first argument is an option, not a
# command, or a file that is not executable, it is for node (`IMAGE -e code`, `IMAGE app.js`).
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ] || ! command -v "$1" >/dev/null 2>&1 || { [ -f "$1" ] && [ ! -x "$1" ]; }; then
    set -- node "$@"
fi
exec "$@"
