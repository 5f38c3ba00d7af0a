"""The README and the Makefile agree: every `make X` the README names exists, `make bench`
takes the same time in both, and the stated Python matches pyproject.toml."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()


def test_every_make_target_in_the_readme_exists():
    targets = set(re.findall(r"^([a-z][\w-]*):", MAKEFILE, re.M))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", README))
    assert named and named <= targets, named - targets


def test_bench_duration_agrees():
    pattern = r"`make bench` \(about (\d+) minutes"
    assert re.findall(pattern, README) == re.findall(pattern, MAKEFILE) != []


def test_prerequisites_match_the_package():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    version = requires.removeprefix(">=")
    assert f"Python ≥ {version}" in README
    for tool in ("npm", "make", "Chromium", ".venv/bin/gatehouse", "make shell"):
        assert tool in README
