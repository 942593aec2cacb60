"""Credentials for fetching a private origin: an SSH deploy key or an HTTPS token, read from 1Password.

Each is used only for its own transport: an ssh origin (git@host:path, ssh://) gets the deploy key and
host keys pinned in a known_hosts file, an https origin the token, anything else (a path, file://, http://)
nothing. The secret is written to a 0600 file in a 0700 folder made for one git call and removed after it:
never on a command line, in the environment, a log line or the status. Errors name the 1Password item and
field, or the file, never the secret.

Check the configured credentials: `python -m webhook.deploy.credentials` prints the branch's tip on origin.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

from webhook import infra_vault, settings
from webhook.deploy.git import GitError
from webhook.settings import Settings, SettingsError

log = logging.getLogger(__name__)
# git's own rule: "host:path" (no "://", a colon before any slash) is ssh
_SCP_LIKE_RE = re.compile(r"^(?:[^@/:]+@)?\[?[^/:\]]+\]?:(?!//)")
# memory-backed when the host has it (/dev/shm), so a key file never reaches a disk
_MEMORY_DIR = Path("/dev/shm")


class CredentialError(GitError):
    """The deploy credentials are missing or unusable; the message names where they come from."""


def transport(url: str) -> str:
    """"ssh", "https", or "none" (no credentials are ever sent)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("ssh", "git+ssh", "ssh+git"):
        return "ssh"
    if scheme == "https":
        return "https"
    if not scheme and not url.startswith(("/", ".")) and _SCP_LIKE_RE.match(url):
        return "ssh"
    return "none"


def _ssh_path(path: Path) -> str:
    """A path as ssh reads it in an option: quoted for its own word splitting, '%' not taken as a token."""
    return '"' + str(path).replace("%", "%%") + '"'


class Credentials:
    """`git_env(url)` yields the variables one git call needs to reach `url`, and cleans up after it."""

    def __init__(self, cfg: Settings):
        self.cfg = cfg

    @property
    def key_source(self) -> str:
        if self.cfg.deploy_key_file:
            return f"the deploy key file {self.cfg.deploy_key_file} (DEPLOY_KEY_FILE)"
        return f"1Password item {self.cfg.deploy_key_item!r}, field {self.cfg.deploy_key_field!r}"

    @property
    def token_source(self) -> str:
        return f"1Password item {self.cfg.deploy_token_item!r}, field {self.cfg.deploy_token_field!r}"

    def kind(self, url: str) -> str:
        return "none" if self.cfg.deploy_credentials == "none" else transport(url)

    @contextmanager
    def git_env(self, url: str) -> Iterator[dict[str, str]]:
        kind = self.kind(url)
        if kind == "none":
            yield {}
            return
        base = _MEMORY_DIR if _MEMORY_DIR.is_dir() and os.access(_MEMORY_DIR, os.W_OK) else None
        folder = Path(tempfile.mkdtemp(prefix="deploy-credentials-", dir=base))  # mode 0700
        try:
            yield self._ssh(folder) if kind == "ssh" else self._https(folder, url)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def explain(self, error: GitError, url: str) -> GitError:
        """git's message with a sentence in front saying which credential did not work."""
        text, kind = str(error), self.kind(url)
        hint = ""
        if kind == "ssh" and "Host key verification failed" in text:
            hint = (f"the SSH host key of the origin is not in the pinned known_hosts file {self.cfg.known_hosts} "
                    "(DEPLOY_KNOWN_HOSTS)")
        elif kind == "ssh" and "Permission denied" in text:
            hint = f"the origin refused the deploy key from {self.key_source}"
        elif kind == "https" and ("Authentication failed" in text or "could not read Username" in text):
            hint = f"the origin refused the HTTPS token from {self.token_source}"
        return CredentialError(f"{hint}; {text}") if hint else error

    # ---- ssh ------------------------------------------------------------------------------------------
    def _ssh(self, folder: Path) -> dict[str, str]:
        known_hosts = self._known_hosts()
        key = _write_private(folder / "deploy_key", self._deploy_key())
        self._check_key(key)
        command = ["ssh", "-F", "/dev/null", "-i", str(key).replace("%", "%%"), "-o", "IdentitiesOnly=yes",
                   "-o", f"UserKnownHostsFile={_ssh_path(known_hosts)}", "-o", "GlobalKnownHostsFile=/dev/null",
                   "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
        return {"GIT_SSH_COMMAND": " ".join(shlex.quote(part) for part in command)}

    def _known_hosts(self) -> Path:
        path = self.cfg.known_hosts
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise CredentialError(f"the pinned known_hosts file {path} (DEPLOY_KNOWN_HOSTS) cannot be read: "
                                  f"{reason}") from None
        if not any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
            raise CredentialError(f"the pinned known_hosts file {path} (DEPLOY_KNOWN_HOSTS) has no host keys")
        return path

    def _deploy_key(self) -> str:
        if self.cfg.deploy_key_file:
            try:
                value = self.cfg.deploy_key_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                raise CredentialError(f"{self.key_source} cannot be read: {reason}") from None
        else:
            value = self._from_1password(self.cfg.deploy_key_item, self.cfg.deploy_key_field, "the deploy key")
        # ssh refuses a key without its final newline, and one pasted with Windows line ends
        return value.replace("\r\n", "\n").strip() + "\n"

    def _check_key(self, key: Path) -> None:
        """ssh-keygen reads the key as ssh would; its answer goes nowhere, only whether it could."""
        try:
            result = subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", str(key)], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=15)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CredentialError(f"cannot check the deploy key from {self.key_source}: ssh-keygen "
                                  f"{type(exc).__name__} (is openssh-client installed?)") from None
        if result.returncode != 0:
            why = "it is protected by a passphrase" if "passphrase" in result.stderr else "invalid format"
            raise CredentialError(f"the deploy key from {self.key_source} is not an unencrypted OpenSSH private "
                                  f"key ({why})")

    # ---- https ----------------------------------------------------------------------------------------
    def _https(self, folder: Path, url: str) -> dict[str, str]:
        token = self._from_1password(self.cfg.deploy_token_item, self.cfg.deploy_token_field, "the HTTPS token")
        host = urlsplit(url).netloc.rpartition("@")[2]
        # git's built-in credential store reads "https://user:token@host" lines from a file we own
        line = f"https://{quote(self.cfg.deploy_token_username, safe='')}:{quote(token.strip(), safe='')}@{host}\n"
        store = _write_private(folder / "credentials", line)
        return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "credential.helper",
                "GIT_CONFIG_VALUE_0": f"store --file={shlex.quote(str(store))}"}

    # ---- both -----------------------------------------------------------------------------------------
    def _from_1password(self, item: str, field: str, what: str) -> str:
        try:
            value = infra_vault.get_secret(item, field)
        except Exception as exc:  # the module's messages name items and fields, never values
            raise CredentialError(f"{what} could not be read from 1Password item {item!r}, field {field!r}: "
                                  f"{exc}") from None
        if not value or not value.strip():
            raise CredentialError(f"{what} in 1Password item {item!r}, field {field!r} is empty")
        return value


def _write_private(path: Path, text: str) -> Path:
    """Create `path` readable by its owner only, before a byte of the secret is in it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def main() -> int:
    """Reach origin the way a deploy does (git ls-remote with the credentials); exit 1 with the reason if not."""
    from webhook.deploy.mirror import Mirror

    try:
        cfg = settings.from_env()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    credentials = Credentials(cfg)
    mirror = Mirror(cfg.deploy_dir / "mirror.git", cfg.repo_url, cfg.branch, cfg.git_timeout, credentials)
    try:
        tip = mirror.remote_tip()
    except GitError as exc:
        print(f"cannot read origin: {exc}", file=sys.stderr)
        return 1
    if tip is None:
        print(f"origin has no branch {cfg.branch}", file=sys.stderr)
        return 1
    print(f"{cfg.branch} is at {tip} (credentials: {credentials.kind(cfg.repo_url)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
