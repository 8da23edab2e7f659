"""The image without Docker: the build context as .dockerignore leaves it, and the Dockerfile's layers run
into a venv of their own, so web, worker and beat run with the image's files and dependencies only (the
dev venv that runs the smoke has the simulator's, the tests' and more).

The dependency layer (the RUN lines before `COPY . .`, installing requirements.lock) is kept under var/
by the checksum of what it copied and ran, as Docker's build cache keeps a layer; everything after
`COPY . .` runs every time, in a fresh copy of the context.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from smoke_procs import Supervisor

ROOT = Path(__file__).resolve().parents[1]
LAYER_CACHE = ROOT / "var"
DEV_ONLY = ("werkzeug", "honcho", "pytest", "playwright")  # the dev extra: none may be importable in the image
IMPORTABLE = (
    "import importlib.util, sys; print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m)) or 'none')"
)


@dataclass
class Dockerfile:
    env: dict[str, str]
    collectstatic: str  # the RUN line's shell command
    layer_inputs: list[str] = field(default_factory=list)  # what is COPY'd before `COPY . .`
    dependency_runs: list[str] = field(default_factory=list)  # RUN lines before `COPY . .`
    project_runs: list[str] = field(default_factory=list)  # `pip install` RUN lines after it


def read_dockerfile(path: Path) -> Dockerfile:
    docker = Dockerfile({}, "")
    context_copied = False
    for line in path.read_text().splitlines():
        word, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if word == "ENV":
            docker.env.update(dict(item.split("=", 1) for item in shlex.split(rest)))
        elif word == "COPY":
            *sources, _ = shlex.split(rest)
            if sources == ["."]:
                context_copied = True
            else:
                docker.layer_inputs += sources
        elif word == "RUN" and "collectstatic" in rest:
            docker.collectstatic = rest
        elif word == "RUN" and not context_copied:
            docker.dependency_runs.append(rest)
        elif word == "RUN" and "pip install" in rest:
            docker.project_runs.append(rest)
    if not docker.collectstatic:
        raise ValueError("the Dockerfile has no RUN line with collectstatic")
    if not docker.dependency_runs or not context_copied:
        raise ValueError("the Dockerfile installs no dependencies before `COPY . .`")
    return docker


# -- the build context ------------------------------------------------------------------------------------


def dockerignore(path: Path) -> list[re.Pattern]:
    """.dockerignore's patterns, relative to the context's root as Docker reads them (`**` any depth)."""
    patterns = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            raise ValueError(f".dockerignore exception {line!r}: the smoke does not read exceptions")
        patterns.append(re.compile(_pattern_regex(line.strip("/"))))
    return patterns


def _pattern_regex(pattern: str) -> str:
    out = []
    for part in pattern.split("/"):
        if part == "**":
            out.append("(?:[^/]+/)*")
            continue
        segment = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in part)
        out.append(segment + "/")
    return "".join(out).removesuffix("/") + r"\Z"


def copy_context(root: Path, dest: Path) -> list[str]:
    """Copy what `COPY . .` would send the image; return the top-level paths left out."""
    patterns = dockerignore(root / ".dockerignore")
    left_out = []
    for here, dirs, files in os.walk(root):
        rel_dir = Path(here).relative_to(root)
        for name in [*dirs]:
            rel = (rel_dir / name).as_posix()
            if any(p.match(rel) for p in patterns):
                dirs.remove(name)
                left_out.append(rel)
        (dest / rel_dir).mkdir(parents=True, exist_ok=True)
        for name in files:
            rel = (rel_dir / name).as_posix()
            if any(p.match(rel) for p in patterns):
                left_out.append(rel)
            else:
                shutil.copy2(Path(here) / name, dest / rel, follow_symlinks=False)
    return left_out


# -- the layers -------------------------------------------------------------------------------------------


def _here(run: str) -> str:
    # The image keeps no pip cache; on this machine pip's cache stands in for the network.
    return run.replace("--no-cache-dir", "").strip()


def dependency_layer(sup: Supervisor, docker: Dockerfile, context: Path, env: dict[str, str]) -> tuple[Path, bool]:
    """The venv the RUN lines before `COPY . .` built; (its path, whether it was already built)."""
    key = hashlib.sha256(sys.version.encode())
    for item in [*docker.dependency_runs, *docker.layer_inputs]:
        key.update(item.encode())
    for name in docker.layer_inputs:
        key.update((context / name).read_bytes())
    venv = LAYER_CACHE / f"smoke-image-venv-{key.hexdigest()[:16]}"
    done = venv / ".layer-built"
    if done.exists():
        return venv, True
    for old in LAYER_CACHE.glob("smoke-image-venv-*"):
        shutil.rmtree(old)
    # Built in place: a venv's scripts name its path, so it cannot be built elsewhere and moved.
    sup.run("image-venv", [sys.executable, "-m", "venv", str(venv)], env)
    for n, run in enumerate(docker.dependency_runs, 1):
        sup.run(f"image-layer-{n}", ["sh", "-c", _here(run)], path_first(env, venv), timeout=900)
    done.touch()
    return venv, False


def project_layers(sup: Supervisor, docker: Dockerfile, venv: Path, env: dict[str, str]) -> None:
    for n, run in enumerate(docker.project_runs, 1):
        sup.run(f"image-project-{n}", ["sh", "-c", _here(run)], path_first(env, venv), timeout=300)


def dev_only_importable(sup: Supervisor, venv: Path, env: dict[str, str]) -> list[str]:
    out = sup.run("image-dev-only", [str(venv / "bin" / "python"), "-c", IMPORTABLE, *DEV_ONLY], env)
    found = out.split()
    return [] if found == ["none"] else found


def path_first(env: dict[str, str], venv: Path) -> dict[str, str]:
    """`env` with the venv's bin first on PATH: python, pip, gunicorn and celery resolve there."""
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"}
