#!/bin/sh
# Installed as /usr/sbin/policy-rc.d in the stand-ins' base: package scripts must not start services
# (postgresql, redis, haproxy) while an image is built; 101 means "action forbidden".
set -eu
exit 101
