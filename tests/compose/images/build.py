"""Build local stand-ins for the public images our compose files use: no container registry is reachable here.

    PYTHONPATH=. python -m tests.compose.images.build

Every stand-in is built FROM a Debian 12 root filesystem made with mmdebstrap (gitops-test/debian:bookworm) and
tagged with the official name, so `docker compose` runs the project's files unchanged. Each image carries a label
with the sha256 of its inputs; an image whose label matches is not built again. Test equipment, not product:
see README.md beside this file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stacktest.compose import DOCKER

HERE = Path(__file__).resolve().parent
LABEL = "org.gitops-airflow.standin.hash"
BASE = "gitops-test/debian:bookworm"
AIRFLOW = "apache/airflow:3.3.2-python3.11"
# official tag -> folder beside this file holding its Dockerfile and entrypoint
STANDINS = {
    AIRFLOW: "airflow",
    "postgres:15": "postgres",
    "redis:7.0": "redis",
    "haproxy:2.6": "haproxy",
    "node:22.11.0-bookworm-slim": "node",
    "debian:bookworm-slim": "debian-slim",  # monitoring/Dockerfile's base
}
HOST_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEBIAN_CAS = Path("/usr/share/ca-certificates")
BASE_DIR = HERE / "base"
# base/policy-rc.d keeps package scripts from starting services (mmdebstrap would only lend its own for the
# bootstrap); base/90standin-slim keeps apt's binary caches out of every later layer. {base} is BASE_DIR, left
# out of the hash so that another checkout folder reuses the same images.
BASE_RECIPE = ["mmdebstrap", "--variant=minbase", "--format=tar", "--include=ca-certificates",
               "--skip=chroot/policy-rc.d", "--essential-hook=copy-in {base}/policy-rc.d /usr/sbin",
               "--customize-hook=copy-in {base}/90standin-slim /etc/apt/apt.conf.d",
               '--customize-hook=rm -f "$1"/var/cache/apt/*.bin']
BASE_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MIN_PYTHON = (3, 11, 4)
TAIL = 40


class StandinError(RuntimeError):
    """A stand-in image could not be built; the message says why."""


def run(argv: list[str], timeout: float = 3600, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, output captured as text (stdout and stderr together); a hung one is a StandinError."""
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                              **kwargs)
    except subprocess.TimeoutExpired:
        raise StandinError(f"`{' '.join(argv[:2])}` did not finish within {timeout:g} s") from None


def check_docker(docker: str) -> None:
    """Fail with one line when the client is missing or the daemon does not answer."""
    if not (os.path.isfile(docker) and os.access(docker, os.X_OK)):
        raise StandinError(f"docker client not found at {docker}")
    try:
        result = run([docker, "version", "--format", "{{.Server.Version}}"], timeout=30)
    except StandinError:
        raise StandinError(f"the docker daemon did not answer {docker} within 30 s") from None
    if result.returncode != 0:
        lines = result.stdout.strip().splitlines() or ["no output"]
        raise StandinError(f"the docker daemon is not answering ({docker} version): {lines[-1]}")


def digest(*parts: str | bytes) -> str:
    """sha256 over the parts, each length-prefixed so that no two lists collide."""
    sha = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        sha.update(f"{len(data)}:".encode() + data)
    return sha.hexdigest()


def folder_parts(folder: Path) -> list[str | bytes]:
    """Name, executable bit and content of every file of a stand-in's folder."""
    parts: list[str | bytes] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        parts += [str(path.relative_to(folder)), str(os.access(path, os.X_OK)), path.read_bytes()]
    return parts


def current_hash(docker: str, tag: str) -> str:
    """The hash label of the local image `tag`, or '' when there is none."""
    result = run([docker, "image", "inspect", "--format", "{{json .Config.Labels}}", tag], timeout=60)
    if result.returncode != 0:
        return ""
    return (json.loads(result.stdout) or {}).get(LABEL, "")


def pem_blocks(text: str) -> list[str]:
    """The PEM certificates in a bundle, whitespace removed (so equal certificates compare equal)."""
    found = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)
    return ["".join(block.split()) for block in found]


def extra_cas() -> list[str]:
    """Certificates of the host's bundle that Debian's ca-certificates lacks (the proxy's CA here), as PEM."""
    if not HOST_BUNDLE.is_file():
        return []
    known = {block for path in DEBIAN_CAS.rglob("*.crt") for block in pem_blocks(path.read_text(errors="replace"))}
    extras = [block for block in pem_blocks(HOST_BUNDLE.read_text(errors="replace")) if block not in known]
    return [as_pem(block) for block in extras]


def as_pem(block: str) -> str:
    """Re-wrap a whitespace-free PEM block into 64-column lines."""
    body = block.removeprefix("-----BEGINCERTIFICATE-----").removesuffix("-----ENDCERTIFICATE-----")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join(["-----BEGIN CERTIFICATE-----", *lines, "-----END CERTIFICATE-----", ""])


def base_hash(cas: list[str]) -> str:
    """Hash of the base image's inputs: the mmdebstrap recipe, the files of base/ and the host CAs copied in."""
    return digest(*BASE_RECIPE, BASE_ENV, *folder_parts(BASE_DIR), *cas)


def build_base(docker: str, want: str, cas: list[str]) -> None:
    """mmdebstrap a Debian 12 minbase (with the host's extra CAs trusted) and docker-import it as BASE."""
    if shutil.which("mmdebstrap") is None:
        raise StandinError("mmdebstrap is not installed (apt-get install mmdebstrap)")
    with tempfile.TemporaryDirectory(prefix="standin-base-") as tmp:
        hooks = []
        for index, pem in enumerate(cas):
            Path(tmp, f"standin-host-ca-{index}.crt").write_text(pem)
        if cas:
            hooks += [f'--customize-hook=cp {tmp}/*.crt "$1/usr/local/share/ca-certificates/"',
                      '--customize-hook=chroot "$1" update-ca-certificates']
        rootfs = Path(tmp, "rootfs.tar")
        recipe = [arg.format(base=BASE_DIR) for arg in BASE_RECIPE]
        result = run([*recipe, *hooks, "bookworm", str(rootfs)])
        if result.returncode != 0:
            raise StandinError("mmdebstrap failed:\n" + tail(result.stdout))
        changes = [f"ENV {BASE_ENV}", 'CMD ["bash"]', f"LABEL {LABEL}={want}"]
        result = run([docker, "import", *(arg for c in changes for arg in ("--change", c)), str(rootfs), BASE])
        if result.returncode != 0:
            raise StandinError(f"docker import of {BASE} failed:\n" + tail(result.stdout))


def tail(text: str, lines: int = TAIL) -> str:
    """The last lines of a command's output."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def host_python(python: str = "python3.11") -> tuple[Path, str]:
    """The host CPython installation to copy (its base prefix) and its version; refuses one older than 3.11.4."""
    code = "import json, sys; print(json.dumps([sys.base_prefix, sys.version, list(sys.version_info[:3])]))"
    try:
        prefix, version, info = json.loads(run([python, "-c", code], timeout=60).stdout)
    except (OSError, ValueError) as error:
        raise StandinError(f"cannot run the host's {python} ({error}); the Airflow stand-in copies it") from None
    if tuple(info) < MIN_PYTHON:
        wanted = ".".join(map(str, MIN_PYTHON))
        raise StandinError(f"the host's {python} is {version.split()[0]} at {prefix}: the Airflow stand-in needs "
                           f">= {wanted} (tarfile extraction filters); install a newer 3.11 (e.g. with pyenv)")
    return Path(prefix), version


def python_tar(prefix: Path, dest: Path) -> None:
    """Tar the host CPython as /usr/local: interpreter, shared library, stdlib; no site-packages, tests, scripts."""
    skip_dirs = {"lib/python3.11/test", "lib/python3.11/site-packages"}

    def as_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(dest, "w") as tar:
        for root, dirs, files in os.walk(prefix):
            rel = Path(root).relative_to(prefix)
            tar.add(root, arcname=f"usr/local/{rel}", recursive=False, filter=as_root)
            if str(rel) in skip_dirs:
                dirs[:] = []  # kept empty: ensurepip installs pip into site-packages
                continue
            links = [name for name in dirs if os.path.islink(Path(root, name))]  # os.walk does not enter them
            for name in files + links:
                # bin/ scripts carry the host's path in their #! line; ensurepip writes pip's own.
                if (str(rel) == "bin" and name != "python3.11") or name.endswith(".a"):
                    continue
                tar.add(Path(root, name), arcname=f"usr/local/{rel / name}", recursive=False, filter=as_root)


def failed_step(output: str) -> str:
    """The failing step's own lines of a `--progress=plain` build: its title, last output lines and the error."""
    lines = output.splitlines()
    errors = [m for m in (re.match(r"#(\d+) ERROR: (.*)", line) for line in lines) if m]
    summary = [line for line in lines if line.startswith("ERROR:")]
    if not errors:
        return tail("\n".join(summary) or output)
    step = errors[-1].group(1)
    own = [re.sub(rf"^#{step} (\d+\.\d+ )?", "", line) for line in lines if line.startswith(f"#{step} ")]
    title = next((line for line in own if line.startswith("[")), f"step #{step}")
    body = [line for line in own if line != title and not line.startswith(("ERROR: ", "DONE ", "CACHED"))]
    return "\n".join([f"step {title}:", *body[-TAIL:], *(summary[-1:] or [errors[-1].group(0)])])


def build_image(docker: str, tag: str, dockerfile: Path, context: Path, want: str) -> None:
    """docker build one image with its hash label; a failure raises with the failing step's output."""
    argv = [docker, "build", "--progress=plain", "--tag", tag, "--label", f"{LABEL}={want}",
            "--file", str(dockerfile), str(context)]
    result = run(argv, env={**os.environ, "DOCKER_BUILDKIT": "1"})
    if result.returncode != 0:
        raise StandinError(f"building {tag} failed:\n{failed_step(result.stdout)}")


def build_standin(docker: str, tag: str, want: str) -> None:
    """Build one stand-in from its folder; the Airflow one also gets the host's CPython in its context."""
    folder = HERE / STANDINS[tag]
    if tag != AIRFLOW:
        build_image(docker, tag, folder / "Dockerfile", folder, want)
        return
    with tempfile.TemporaryDirectory(prefix="standin-airflow-") as tmp:
        context = Path(tmp, "context")
        shutil.copytree(folder, context)
        python_tar(host_python()[0], context / "python.tar")
        build_image(docker, tag, context / "Dockerfile", context, want)


def ensure_images(docker: str = DOCKER, echo: Callable[[str], object] = print) -> None:
    """Build the base and every stand-in whose hash label is missing or stale; one line per image."""
    check_docker(docker)
    cas = extra_cas()
    base = base_hash(cas)
    wanted = {BASE: base}
    for tag, folder in STANDINS.items():
        extra = [str(part) for part in host_python()] if tag == AIRFLOW else []
        wanted[tag] = digest(base, *folder_parts(HERE / folder), *extra)
    for tag, want in wanted.items():
        if current_hash(docker, tag) == want:
            echo(f"{tag}: cached")
            continue
        started = time.monotonic()
        if tag == BASE:
            build_base(docker, want, cas)
        else:
            build_standin(docker, tag, want)
        echo(f"{tag}: built in {time.monotonic() - started:.0f} s")


def main() -> int:
    """CLI: build what is missing; a failure prints its reason and exits 1."""
    try:
        ensure_images()
    except StandinError as error:
        print(f"stand-in images: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
