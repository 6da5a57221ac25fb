"""The hub and user images, checked without Docker: Dockerfiles, locks, and the user lock really installed.

The slow test installs ``images/user/requirements.lock`` into a fresh virtualenv (uv; cached under
``.cache/`` keyed by the lock's hash, so a changed lock gets a new environment), puts our own packages
on its path the way the image installs them (``--no-deps``: everything else must come from the lock),
and runs the image's smoke script there: imports, JupyterLab extensions, and a Dask cluster whose
worker versions must equal the client's.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "images"
CACHE = REPO / ".cache"
UV = Path(sys.executable).with_name("uv")


def pins(path: Path) -> dict[str, str]:
    """``name -> version`` of a pip-style lock (names normalised as in PEP 503)."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;#]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[3]
    return found


def requested(path: Path, marker: str = "") -> set[str]:
    """The names a requirements file asks for (normalised); ``marker``: only on lines with that text."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and marker in line:
            names.add(re.sub(r"[-_.]+", "-", re.split(r"[\[<>=~! ;]", line, maxsplit=1)[0]).lower())
    return names


@pytest.mark.parametrize("image", ["hub", "user"])
def test_each_image_has_dockerfile_requirements_lock_and_smoke(image: str) -> None:
    folder = IMAGES / image
    dockerfile = (folder / "Dockerfile").read_text()
    assert f"COPY images/{image}/requirements.lock" in dockerfile
    assert re.search(r"python /\S+/smoke\.py", dockerfile), "the smoke script must run at build time"
    lock = pins(folder / "requirements.lock")
    missing = requested(folder / "requirements.in") - set(lock)
    assert not missing, f"requirements.lock lacks {missing}: run images/lock.sh"


def test_user_image_ships_the_tutorials_where_servers_look() -> None:
    """Servers copy ``$ASTROHUB_TUTORIALS/*.ipynb`` into each home; without them a pod's first sign-in has no
    getting-started to open and the Help menu's tutorials are missing files."""
    dockerfile = (IMAGES / "user" / "Dockerfile").read_text()
    copied = re.search(r"^COPY examples/\*\.ipynb (\S+?)/?$", dockerfile, re.M)
    env = re.search(r"^ENV ASTROHUB_TUTORIALS=(\S+?)/?$", dockerfile, re.M)
    assert copied and env and copied[1] == env[1], "COPY examples/*.ipynb and ENV ASTROHUB_TUTORIALS must agree"
    assert (REPO / "examples" / "getting-started.ipynb").is_file()
    # first11: and the guides the Help menu opens (tutorials/guides/), which were nowhere in a user's Lab
    copied = re.search(r"^COPY docs/\*\.md docs/\*\.png (\S+?)/?$", dockerfile, re.M)
    env = re.search(r"^ENV ASTROHUB_GUIDES=(\S+?)/?$", dockerfile, re.M)
    assert copied and env and copied[1] == env[1], "COPY docs/*.md docs/*.png and ENV ASTROHUB_GUIDES must agree"


@pytest.mark.parametrize("image", ["hub", "user"])
def test_locks_agree_with_the_ci_constraints(image: str) -> None:
    constraints = pins(REPO / ".ci" / "constraints.txt")
    lock = pins(IMAGES / image / "requirements.lock")
    differ = {name: (v, constraints[name]) for name, v in lock.items() if name in constraints and constraints[name] != v}
    assert not differ, f"lock vs .ci/constraints.txt: {differ}; run images/lock.sh"


def test_packages_left_out_are_in_no_lock_nor_this_environment() -> None:
    """rfc3987-syntax, imported by jsonschema's import, compiled a grammar (0.9 s of CPU) in every nbgrader step,
    grading Job, Validate run and test process; it is left out (.ci/overrides.txt) of the CI environment and the images."""
    left_out = requested(REPO / ".ci" / "overrides.txt", marker='sys_platform == "never"')  # a marker never true
    assert "rfc3987-syntax" in left_out
    for lock in (REPO / ".ci" / "constraints.txt", IMAGES / "hub" / "requirements.lock",
                 IMAGES / "user" / "requirements.lock"):
        assert not left_out & set(pins(lock)), f"{lock} pins {left_out & set(pins(lock))}: run images/lock.sh"
    loaded = subprocess.run([sys.executable, "-I", "-c", "import sys, jsonschema; print(sorted(m for m in sys.modules "
                             "if m.split('.')[0] in ('rfc3987_syntax', 'lark')))"],
                            capture_output=True, text=True, check=True, timeout=120).stdout.strip()
    assert loaded == "[]", f"importing jsonschema loads {loaded}: make install-test takes them out"


def test_hub_image_is_built_on_the_pinned_chart_version() -> None:
    chart = yaml.safe_load((REPO / "helm" / "astrohub" / "Chart.yaml").read_text())
    version = next(d["version"] for d in chart["dependencies"] if d["name"] == "jupyterhub")
    assert f"FROM quay.io/jupyterhub/k8s-hub:{version}\n" in (IMAGES / "hub" / "Dockerfile").read_text()


def test_gateway_server_runs_from_the_hub_image_at_the_chart_version() -> None:
    """The dask-gateway API server uses the hub image, whose lock pins the server of the chart's version;
    the user image (schedulers, workers, clients) pins the client of that same version."""
    chart = yaml.safe_load((REPO / "helm" / "astrohub" / "Chart.yaml").read_text())
    version = next(d["version"] for d in chart["dependencies"] if d["name"] == "dask-gateway")
    assert pins(IMAGES / "hub" / "requirements.lock")["dask-gateway-server"] == version
    assert pins(IMAGES / "hub" / "requirements.lock")["kubernetes-asyncio"]  # the Kubernetes backend
    assert pins(IMAGES / "user" / "requirements.lock")["dask-gateway"] == version
    values = yaml.safe_load((REPO / "helm" / "astrohub" / "values.yaml").read_text())
    assert values["dask-gateway"]["gateway"]["image"] == values["jupyterhub"]["hub"]["image"]


def test_user_lock_covers_platform_lib_dependencies() -> None:
    """The user image installs platform_lib --no-deps, so each of its dependencies must be locked."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    needed = {re.sub(r"[-_.]+", "-", re.split(r"[\[<>=~! ;]", d, maxsplit=1)[0]).lower() for d in project["dependencies"]}
    assert needed - set(pins(IMAGES / "user" / "requirements.lock")) == set()


def test_hub_smoke_script_passes_with_the_hub_package(capsys: pytest.CaptureFixture[str]) -> None:
    """The hub image's smoke script, run in this environment (JupyterHub, KubeSpawner, astrohub_hub)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("hub_smoke", IMAGES / "hub" / "smoke.py")
    smoke = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(smoke)
    assert smoke.main() == 0
    assert "hub image OK" in capsys.readouterr().out


def _user_venv() -> Path:
    lock = IMAGES / "user" / "requirements.lock"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()[:16]
    venv = CACHE / f"helm-user-image-{digest}"
    done = venv / ".installed"
    if done.exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    CACHE.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    subprocess.run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, env=env, timeout=120)
    subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "--requirement", str(lock)],
        check=True,
        env=env,
        timeout=900,
    )
    done.write_text(digest)
    return venv


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_user_lock_installs_into_a_fresh_venv_and_passes_the_smoke_script() -> None:
    venv = _user_venv()
    python = venv / "bin" / "python"
    # our packages as the image installs them (--no-deps): on the path, with only the lock beneath them
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "astrohub-src.pth").write_text("".join(f"{p}\n" for p in (REPO, REPO / 'extensions' / 'archive', REPO / 'extensions' / 'server')))
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    result = subprocess.run(
        [str(python), str(IMAGES / "user" / "smoke.py")],
        capture_output=True, text=True, timeout=300, env=env, cwd=venv, check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "user image OK" in result.stdout
    freeze = subprocess.run([str(UV), "pip", "freeze", "--python", str(python)], capture_output=True, text=True,
                            check=True, env=env).stdout
    installed = {re.sub(r"[-_.]+", "-", n).lower(): v for n, v in re.findall(r"^([^=\s]+)==(\S+)$", freeze, re.M)}
    lock = pins(IMAGES / "user" / "requirements.lock")
    assert {n: installed.get(n) for n in lock} == lock  # exactly the locked versions, nothing resolved anew
