"""What `make run` prints: each request logged once (our JSON line, not also the
development server's own access line)."""

import json
import sys
from pathlib import Path

import pytest

from tests.support.devserver import DevServer

GATEHOUSE = Path(sys.executable).parent / "gatehouse"


@pytest.fixture
def dev_server(tmp_path):
    server = DevServer(GATEHOUSE, tmp_path).start()
    yield server
    server.stop()


def test_each_request_is_logged_once(dev_server):
    assert dev_server.get("/login?probe=once-only").status_code == 200
    assert dev_server.get("/no-such-page?probe=missing").status_code == 404
    output = dev_server.stop()
    for probe in ("once-only", "missing"):
        lines = [line for line in output.splitlines() if probe in line]
        assert len(lines) == 1, output
        assert json.loads(lines[0])["logger"] == "gatehouse.request"
    assert "Running on http://127.0.0.1" in output  # the server's own notices still show
