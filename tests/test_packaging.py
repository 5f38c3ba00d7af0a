"""A non-editable install works: build the wheel (`pip install .` does the same), install
it into a fresh virtual environment, and serve — templates, static files and migrations
come from the package, not from a checkout."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.devserver import DevServer

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("app", "templates", "static", "migrations", "pyproject.toml", "setup.py", "README.md")


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding only the gatehouse wheel; its dependencies are borrowed from
    the test environment's site-packages (a .pth line), so nothing is downloaded."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "source"
    source.mkdir()  # a copy, so the build leaves nothing in the checkout
    for name in SOURCES:
        if not (ROOT / name).exists():
            continue
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    wheels = tmp / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(wheels))
    (wheel,) = wheels.glob("gatehouse-*.whl")
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    run(*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    purelib = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    borrowed = sysconfig.get_paths()["purelib"]
    Path(purelib.stdout.strip(), "borrowed-deps.pth").write_text(borrowed + "\n")
    return venv


def test_the_wheel_carries_what_the_server_needs(installed, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = run(
        str(installed / "bin" / "python"),
        "-c",
        "import json, app; print(json.dumps([app.__file__, app._shipped('templates')]))",
        cwd=tmp_path,
        env=env,
    )
    package_file, templates = json.loads(where.stdout)
    assert package_file.startswith(str(installed)) and templates.startswith(str(installed))


def test_an_installed_server_migrates_and_serves_the_login_page(installed, tmp_path):
    server = DevServer(installed / "bin" / "gatehouse", tmp_path).start()
    try:
        login = server.get("/login")
        assert login.status_code == 200 and 'name="password"' in login.text
        css = server.get("/static/css/app.css")
        assert css.status_code == 200 and "--primary" in css.text
        assert server.get("/readyz").status_code == 200  # migrated to head, from the package
    finally:
        output = server.stop()
    assert str(ROOT) not in output  # nothing was loaded from the checkout
