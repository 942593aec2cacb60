"""Find the system programs the native stack runs, installing the Debian packages when we can."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

# program -> Debian package that provides it
PACKAGES = {
    "postgres": "postgresql",
    "redis-server": "redis-server",
    "haproxy": "haproxy",
    "ssh": "openssh-client",  # the webhook fetches private origins over ssh with the deploy key
}
# the `monitoring` profile's programs (stackctl/monitoring.py). collectd-core only recommends its plugins'
# libraries, and a plugin whose library is missing does not load: libmicrohttpd12 and libprotobuf-c1 for
# write_prometheus, libpq5 for postgresql, libhiredis0.14 for redis (its df, memory and load plugins need none)
MONITORING_PACKAGES = ("prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter",
                       "collectd-core", "libmicrohttpd12", "libprotobuf-c1", "libpq5", "libhiredis0.14")
# prometheus-blackbox-exporter: tests/alerting probes HAProxy's certificate with it
TEST_PACKAGES = ("chromium", "chromium-driver", "git", "shellcheck", "prometheus-blackbox-exporter",
                 *MONITORING_PACKAGES)


class MissingSystemPackage(RuntimeError):
    """A program the stack needs is not installed and we may not install it."""


def postgres_bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries Debian installed (postgres is not on PATH there)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres")
    return Path(found).parent if found else None


def which(program: str) -> str | None:
    if program == "postgres":
        bin_dir = postgres_bin_dir()
        return str(bin_dir / "postgres") if bin_dir else None
    return shutil.which(program) or (f"/usr/sbin/{program}" if os.path.exists(f"/usr/sbin/{program}") else None)


def missing_packages(extra: tuple[str, ...] = ()) -> list[str]:
    missing = [pkg for program, pkg in PACKAGES.items() if not which(program)]
    return missing + [pkg for pkg in extra if not _dpkg_installed(pkg)]


def _dpkg_installed(package: str) -> bool:
    if not shutil.which("dpkg-query"):
        return False
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return result.returncode == 0 and "install ok installed" in result.stdout


def ensure_packages(extra: tuple[str, ...] = (), echo=print) -> None:
    """Install missing Debian packages as root; otherwise stop with the exact command to run."""
    missing = missing_packages(extra)
    if not missing:
        return
    command = "apt-get install -y " + " ".join(missing)
    is_debian = os.path.exists("/etc/debian_version") and shutil.which("apt-get")
    if os.geteuid() != 0 or not is_debian:
        where = "as root" if is_debian else "with your system's package manager (Debian names shown)"
        raise MissingSystemPackage(f"missing system packages: {', '.join(missing)}. Install them {where}: "
                                   f"sudo {command}")
    echo(f"installing system packages: {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # the usual umask, not ./stack's 027: what the packages' scripts create is for every user of the machine
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, umask=0o022)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env, stdout=subprocess.DEVNULL,
                   umask=0o022)
