"""The image, without a Docker engine: the Dockerfile's own steps, performed the way Docker would.

The test reads the Dockerfile and carries out each stage in a scratch root folder: the builder's
COPY, ``pip install``, ``uv export`` and ``pip wheel`` as written; the final stage's ``pip install``
from the builder's wheels into a fresh Python 3.11 environment at ``/usr/local`` (the base image's
prefix), with nothing from the source tree. Then it starts the image's ENTRYPOINT + CMD with exactly
the image's ENV, as its USER, in a network namespace of its own (so the image's 0.0.0.0 binds a
loopback that only the "container" has), runs the HEALTHCHECK command inside that namespace as
Docker does, and stops it as ``docker stop`` does: SIGTERM, then a clean exit 0.

What this cannot prove is the base image itself (python:3.11-slim's files) and BuildKit's own
behaviour; everything serpgate's Dockerfile adds on top is exercised here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.compose import ROOT
from tests.ops.dockerfile import Stage, parse_dockerfile
from tests.ops.machine import unavailable
from tests.ops.processes import bounded, child_pid

BASE_IMAGE = "python:3.11-slim"
PYTHON = "python3.11"  # the base image's interpreter


class ImageRoot:
    """A scratch folder standing for one stage's filesystem: /wheels is <root>/wheels."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def command(self, shell: str, mounts: dict[str, Path] | None = None) -> list[str]:
        """A RUN command's words, with container paths mapped into the scratch root."""
        words = []
        for word in shlex.split(shell):
            if word.startswith("/"):
                mounted = (mounts or {}).get(word)
                word = str(mounted if mounted is not None else self.path(word))
            words.append(word)
        return words


@pytest.fixture
def scratch() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are private to root, and the image's user must read this.
    root = Path(tempfile.mkdtemp(prefix="serpgate-image-"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(
    command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"{shlex.join(command)}\n{result.stdout}\n{result.stderr}"
    return result


def as_user(uid: int, gid: int, command: list[str]) -> list[str]:
    """``command`` as the image's USER; as the current user when that is not root already."""
    if os.geteuid() != 0:
        return command
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *command]


def runtime_interpreter(uid: int, gid: int) -> str:
    """A Python 3.11 that the image's user runs whole.

    One under /root (pyenv's) may start for another user yet load a different libpython that
    the user can read, and so become another Python: what it says about itself must match.
    """
    candidates = [
        str(Path(sys.base_prefix) / "bin" / PYTHON),
        f"/usr/local/bin/{PYTHON}",
        f"/usr/bin/{PYTHON}",
    ]
    probe = "import ensurepip, sys, venv; print(sys.version, sys.prefix)"

    def whole(candidate: str) -> bool:
        itself, as_image_user = (
            subprocess.run(
                [*prefix, candidate, "-c", probe],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            for prefix in ([], as_user(uid, gid, []))
        )
        return itself.returncode == as_image_user.returncode == 0 and (
            itself.stdout == as_image_user.stdout
        )

    found = next((c for c in dict.fromkeys(candidates) if Path(c).is_file() and whole(c)), None)
    if found is None:
        unavailable(f"no {PYTHON} that uid {uid} may run, with venv and ensurepip")
    return found


def user_of(stage: Stage) -> tuple[int, int]:
    """The final stage's USER, checked against the account its RUN step creates."""
    uid, _, gid = stage.one("USER").args.partition(":")
    # Numeric, so that an orchestrator's runAsNonRoot can check it without /etc/passwd.
    assert uid.isdigit(), "USER should be numeric"
    assert gid.isdigit(), "USER should name a numeric group"
    assert int(uid) != 0
    created = " ".join(i.args for i in stage.all("RUN") if "useradd" in i.args)
    assert f"--uid {uid}" in created
    assert f"--gid {gid}" in created
    return int(uid), int(gid)


def base_image(image: ImageRoot, python: str) -> Path:
    """The base image's Python at /usr/local; returns /usr/local/bin."""
    prefix = image.path("/usr/local")
    run([python, "-m", "venv", str(prefix)])
    return prefix / "bin"


def perform_builder(stage: Stage, image: ImageRoot, python: str) -> None:
    bin_dir = base_image(image, python)
    workdir = image.path(stage.one("WORKDIR").args)
    workdir.mkdir(parents=True)
    for copy in stage.all("COPY"):
        *sources, destination = shlex.split(copy.args)
        target = workdir / destination
        for source in sources:
            origin = ROOT / source
            if origin.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(origin, target, ignore=ignore, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)
    env = {**os.environ, **stage.env()}
    for step in stage.all("RUN"):
        words = image.command(step.args)
        assert words[0] in {"pip", "uv"}, f"the test cannot perform RUN {step.args}"
        run([str(bin_dir / words[0]), *words[1:]], cwd=workdir, env=env)


def perform_final(stage: Stage, image: ImageRoot, builder: ImageRoot, python: str) -> Path:
    """The final stage's steps; returns the image's /usr/local/bin."""
    bin_dir = base_image(image, python)
    env = {**os.environ, **stage.env()}
    for step in stage.all("RUN"):
        if "useradd" in step.args:
            continue  # the account: user_of() holds its ids, which is all a process needs
        if step.args.startswith("apt-get"):
            # System packages go to the base image's /usr, which no scratch root stands for:
            # Docker performs this step; here only that Debian offers each package is checked.
            for package in apt_packages(step.args):
                assert apt_candidate(package), f"Debian offers no package {package!r}"
            continue
        mounts = {}
        if "mount" in step.flags:
            mount = dict(part.split("=", 1) for part in step.flags["mount"].split(","))
            assert mount["from"] == "builder", "the final stage takes only the builder's output"
            mounts[mount["target"]] = builder.path(mount["source"])
        words = image.command(step.args, mounts)
        assert words[:2] == ["pip", "install"], f"the test cannot perform RUN {step.args}"
        run([str(bin_dir / "pip"), *words[1:]], env=env)
    return bin_dir


def apt_packages(shell: str) -> list[str]:
    """The packages an ``apt-get install`` in a RUN step names."""
    words = shlex.split(shell.replace("&&", " && "))
    start = words.index("install") + 1
    end = words.index("&&", start) if "&&" in words[start:] else len(words)
    return [word for word in words[start:end] if not word.startswith("-")]


def apt_candidate(package: str) -> bool:
    if shutil.which("apt-cache") is None:
        unavailable("needs apt-cache to check the image's Debian packages")
    policy = subprocess.run(
        ["apt-cache", "policy", package], capture_output=True, text=True, check=False
    )
    return "Candidate:" in policy.stdout and "Candidate: (none)" not in policy.stdout


def test_dockerfile_steps_build_an_image_that_serves_and_stops_cleanly(scratch: Path) -> None:
    if shutil.which("setpriv") is None or shutil.which("unshare") is None:
        unavailable("needs util-linux's setpriv and unshare")
    if os.geteuid() != 0:
        unavailable("needs root, as a container runtime does, to change user and network")
    stages = parse_dockerfile((ROOT / "Dockerfile").read_text())
    builder, final = stages
    assert builder.name == "builder"
    assert builder.base == final.base == BASE_IMAGE
    # The final stage takes nothing from the build context: the source never reaches the image.
    assert not final.all("COPY")
    assert not final.all("ADD")
    uid, gid = user_of(final)

    # Both stages start from the same base image, so from the same Python: dependency markers
    # depend on its exact version (redis needs async-timeout below 3.11.3).
    python = runtime_interpreter(uid, gid)
    built, image_root = ImageRoot(scratch / "builder"), ImageRoot(scratch / "image")
    perform_builder(builder, built, python)
    wheels = {p.name.split("-")[0].lower() for p in built.path("/wheels").glob("*.whl")}
    assert "serpgate" in wheels
    bin_dir = perform_final(final, image_root, built, python)

    # Only runtime dependencies: none of the dev extras, and nothing the wheels did not bring.
    listed = run([str(bin_dir / "pip"), "list", "--format=json", "--exclude-editable"])
    installed = {re.sub(r"[-.]", "_", p["name"].lower()) for p in json.loads(listed.stdout)}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dev = {
        re.sub(r"[-.]", "_", re.split(r"[<>=\[ ;]", requirement)[0].lower())
        for requirement in pyproject["project"]["optional-dependencies"]["dev"]
    }
    runtime = {re.sub(r"[-.]", "_", w) for w in wheels}
    # A dev extra the runtime also needs (pyyaml, via uvicorn[standard]) is no dev tool.
    dev_only = dev - runtime
    assert not installed & dev_only, f"dev tools in the image: {installed & dev_only}"
    assert installed - {"pip", "setuptools"} <= runtime
    run([str(bin_dir / "pip"), "check"])
    located = run([str(bin_dir / "python"), "-c", "import serpgate; print(serpgate.__file__)"])
    assert located.stdout.startswith(str(image_root.path("/usr/local/lib")))

    # Start it as `docker run` would: ENTRYPOINT + CMD, only the image's ENV, as its USER, in a
    # network namespace of its own where 0.0.0.0 means that namespace's loopback alone.
    argv = final.one("ENTRYPOINT").exec_form() + final.one("CMD").exec_form()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", **final.env()}
    assert env["SERPGATE_HOST"] == "0.0.0.0"
    executable = str(bin_dir / argv[0])
    in_namespace = ["sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    command = ["unshare", "--net", "--", *in_namespace, *as_user(uid, gid, [executable, *argv[1:]])]
    log = scratch / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(bounded(command), stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        pid = child_pid(proc)
        # The namespace's shell and setpriv exec into serpgate in the same process.
        deadline = time.monotonic() + 10
        while "python" not in os.readlink(f"/proc/{pid}/exe"):
            assert time.monotonic() < deadline, "the entry point never started"
            time.sleep(0.02)
        status = Path(f"/proc/{pid}/status").read_text()
        assert re.search(rf"^Uid:\s+{uid}\s", status, re.MULTILINE), status

        healthcheck = final.one("HEALTHCHECK")
        probe = json.loads(healthcheck.args.removeprefix("CMD").strip())
        inside = ["nsenter", f"--net=/proc/{pid}/ns/net", *as_user(uid, gid, probe)]
        deadline = time.monotonic() + 30
        while subprocess.run(inside, env=env, capture_output=True, check=False).returncode != 0:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"HEALTHCHECK never passed\n{log.read_text()}"
            time.sleep(0.25)
        readyz = (
            "import urllib.request; "
            "print(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status)"
        )
        answered = run(["nsenter", f"--net=/proc/{pid}/ns/net", "python", "-c", readyz], env=env)
        assert answered.stdout.strip() == "200"

        # docker stop: SIGTERM to the entry point, which drains and exits 0.
        os.kill(pid, signal.SIGTERM)
        assert proc.wait(40) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    messages = [line["msg"] for line in lines]
    assert "Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)" in messages
    assert "Application shutdown complete." in messages


def test_the_build_context_holds_only_what_the_dockerfile_copies() -> None:
    copied = {
        source.rstrip("/")
        for stage in parse_dockerfile((ROOT / "Dockerfile").read_text())
        for instruction in stage.all("COPY")
        if "from" not in instruction.flags
        for source in shlex.split(instruction.args)[:-1]
    }
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # Everything is left out first (.env files, keys, .venv), then the build's inputs let back in.
    assert patterns[0] == "*"
    assert {p[1:].rstrip("/") for p in patterns if p.startswith("!")} == copied
