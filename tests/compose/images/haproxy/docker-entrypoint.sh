#!/bin/sh
# Entrypoint of the haproxy stand-in, as the official image's: options alone mean haproxy, and haproxy runs
# in the foreground with a master process (-W -db). Our compose file replaces it (entrypoint: []).
set -eu

case "${1-}" in
    -*) set -- haproxy "$@" ;;
esac
if [ "${1-}" = haproxy ]; then
    shift
    set -- haproxy -W -db "$@"
fi
exec "$@"
