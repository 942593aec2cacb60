"""A real OpenSSH server on loopback serving git repositories, for the deploy key tests.

Debian's openssh-server is installed when /usr/sbin/sshd is missing (root with apt, as on a fresh CI machine);
each server gets its own folder: host key, authorized_keys, config, log. Nothing of the system's sshd setup is
used, and the server is stopped when the fixture ends.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
PACKAGES = ("openssh-server", "openssh-sftp-server")


def ensure_sshd() -> None:
    """Install openssh-server when missing; fail with the command to run when this cannot."""
    if SSHD.exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail("the deploy key tests need an OpenSSH server: apt-get install openssh-server")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # The server must match the installed client's version (the client may come from a newer suite).
    client = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "openssh-client"], capture_output=True,
                            text=True)
    wanted = [f"{name}={client.stdout.strip()}" if client.returncode == 0 else name for name in PACKAGES]
    for step in (["apt-get", "update", "-qq"],
                 ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *wanted]):
        result = subprocess.run(step, capture_output=True, text=True, env=env, timeout=600)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            pytest.fail(f"installing openssh-server failed at `{' '.join(step)}`: {last[0]}")


def keypair(folder: Path, name: str, passphrase: str = "") -> tuple[Path, str]:
    """A new ed25519 key: (private key file, public key line)."""
    path = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f", str(path)],
                   check=True, capture_output=True)
    return path, path.with_suffix(".pub").read_text().strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SshServer:
    """sshd -D on 127.0.0.1:`port`, letting in the keys in `authorize()` as the current user."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        self.user = getpass.getuser()
        self.host_key, host_public = keypair(folder, "host_ed25519")
        self.authorized = folder / "authorized_keys"
        self.authorized.touch(mode=0o600)
        self.port = _free_port()
        self.log = folder / "sshd.log"
        # known_hosts lines that pin this server, the way webhook/deploy/known_hosts.github pins GitHub
        self.known_hosts_line = f"[127.0.0.1]:{self.port} {' '.join(host_public.split()[:2])}\n"
        self.config = folder / "sshd_config"
        self.config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {self.host_key}\n"
            f"AuthorizedKeysFile {self.authorized}\nPidFile none\nAllowUsers {self.user}\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\nUsePAM no\nX11Forwarding no\nAllowTcpForwarding no\n"
            # the folder lives under /tmp (world-writable), which StrictModes refuses
            "PermitTTY no\nStrictModes no\nLogLevel VERBOSE\n")
        self.process: subprocess.Popen | None = None

    def url(self, repository: Path) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{repository}"

    def authorize(self, public_key: str) -> None:
        with self.authorized.open("a") as fh:
            fh.write(public_key + "\n")

    def __enter__(self) -> SshServer:
        # sshd running as root wants its privilege separation folder (the package's service creates it)
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        with self.log.open("w") as log:
            self.process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(self.config)], stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)
        # Ready when it says so: a probe connection would count against 127.0.0.1 (OpenSSH >= 9.8 penalises
        # connections that do not authenticate, and would refuse the test's own for a while).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text()[-500:]}")
            if "Server listening on" in self.log.read_text():
                return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"sshd did not listen on port {self.port}: {self.log.read_text()[-500:]}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def sshd(tmp_path) -> SshServer:
    """A running sshd for this test; its log is in `sshd.log` beside its config."""
    ensure_sshd()
    with SshServer(tmp_path / "sshd") as server:
        yield server
