"""Without Chromium, `make test` says loudly at the end that the browser tests did not
run; in CI (CI=true) they fail instead of skipping."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROWSER_TEST = "tests/browser/test_layout_browser.py"


def run_without_chromium(ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PYTEST_XDIST_WORKER"}}
    env["CHROMIUM_PATH"] = "/nonexistent/chromium"
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "0", "-q", "-p", "no:cacheprovider", BROWSER_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_missing_chromium_is_loud_at_the_end_of_the_run():
    result = run_without_chromium(ci=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    # In the closing summary: after every test ran, just above the short summary and the
    # final count (which stays the last line, as CI reads it).
    banner = next(i for i, line in enumerate(lines) if "BROWSER TESTS NOT RUN" in line)
    assert "browser tests were SKIPPED" in lines[banner + 1]
    assert lines[banner + 2].startswith("=") and "short test summary" in lines[banner + 2]
    assert "skipped in" in lines[-1]


def test_ci_fails_instead_of_skipping():
    result = run_without_chromium(ci=True)
    assert result.returncode != 0
    assert "Chromium is required in CI" in result.stdout
