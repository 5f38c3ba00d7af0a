"""The SDKs as their users install them, without the server.

* Python: the wheel of ``sdk/python`` in a fresh virtual environment verifies a real
  Gatehouse token while importing the server (``app``) is made impossible; Flask is an
  optional extra, not a dependency.
* Browser: ``npm pack`` of ``static/sdk`` installs into an empty project, its ``.d.ts``
  type-check a consumer (and refuse a wrong call) with TypeScript, Node imports it, and
  Gatehouse still serves the very same files under ``/static/sdk/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import BASE_DOMAIN
from tests.support.sdk_http import GatehouseHTTP

ROOT = Path(__file__).resolve().parent.parent
SDK = ROOT / "sdk" / "python"
BROWSER_SDK = ROOT / "static" / "sdk"
TSC = ROOT / "node_modules" / "typescript" / "bin" / "tsc"


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


# --- Python -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sdk_wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("sdk")
    source = tmp / "source"
    shutil.copytree(
        SDK, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info")
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(tmp))
    (wheel,) = tmp.glob("gatehouse_sdk-*.whl")
    return wheel


@pytest.fixture(scope="module")
def sdk_venv(sdk_wheel, tmp_path_factory) -> Path:
    """A fresh venv with only the SDK wheel; its dependencies are borrowed from the test
    environment (a .pth line), so nothing is downloaded."""
    venv = tmp_path_factory.mktemp("sdk-venv") / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(sdk_wheel))
    purelib = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    borrowed = sysconfig.get_paths()["purelib"]
    Path(purelib.stdout.strip(), "borrowed-deps.pth").write_text(borrowed + "\n")
    return venv


def test_the_wheel_needs_no_server_and_flask_is_an_extra(sdk_wheel):
    with zipfile.ZipFile(sdk_wheel) as wheel:
        names = wheel.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = [
            line.split(":", 1)[1].strip()
            for line in wheel.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
        sources = {n: wheel.read(n).decode() for n in names if n.endswith(".py")}
    assert {n.split("/")[0] for n in names} == {"gatehouse_sdk", metadata.split("/")[0]}
    assert any(r.startswith("pyjwt") for r in requires)
    flask = [r for r in requires if r.lower().startswith("flask")]
    assert flask and all('extra == "flask"' in r for r in flask)
    for name, text in sources.items():
        assert "from app" not in text and "import app" not in text, name


VERIFY = """
import json, sys
sys.modules["app"] = None          # importing the Gatehouse server would fail from here on
import gatehouse_sdk
from gatehouse_sdk import TokenVerifier, InvalidToken, loopback_fetch
from gatehouse_sdk.flask import require_token
issuer, audience, token, other = sys.argv[1:5]
claims = TokenVerifier([issuer], audience=audience, fetch=loopback_fetch).verify(token)
try:
    TokenVerifier([issuer], audience=other, fetch=loopback_fetch).verify(token)
    refused = None
except InvalidToken as exc:
    refused = exc.description
print(json.dumps({"file": gatehouse_sdk.__file__, "claims": claims, "refused": refused,
                  "decorator": callable(require_token)}))
"""


def test_the_installed_sdk_verifies_a_real_token(sdk_venv, live_server, tenant, tmp_path):
    gh = GatehouseHTTP(live_server, [tenant])
    client = gh.service_client(tenant, roles=["member"])
    token = gh.client_credentials(tenant, client)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = run(
        str(sdk_venv / "bin" / "python"),
        "-c",
        VERIFY,
        gh.issuer(tenant),
        client.id,
        token,
        "https://another-api.example",
        cwd=tmp_path,  # not the checkout: nothing can be imported from there
        env=env,
    )
    out = json.loads(result.stdout)
    assert out["file"].startswith(str(sdk_venv))
    assert out["claims"]["tenant_id"] == tenant.id and out["claims"]["roles"] == ["member"]
    assert out["refused"] == "the token is not meant for this audience"
    assert out["decorator"] is True


def test_the_tests_use_the_installed_package_not_the_source():
    import gatehouse_sdk

    assert not Path(gatehouse_sdk.__file__).is_relative_to(SDK)


# --- browser ------------------------------------------------------------------------------

CONSUMER = """
import { createGatehouse, GatehouseError, type AccessTokenClaims } from "@gatehouse/browser";

const auth = createGatehouse({
  tenants: { acme: { issuer: "https://acme.auth.example", clientId: "cli_1" } },
  redirectUri: "https://app.example/",
  resources: ["https://api.acme.example/invoices"],
});
export async function call(): Promise<string> {
  const resource = "https://api.acme.example/invoices";
  const token: string = await auth.getAccessToken({ resource });
  const claims: AccessTokenClaims | null = auth.claims;
  if (!(claims instanceof Object)) throw new GatehouseError("login_required");
  return token + claims.tenant_id;
}
"""
WRONG = """
import { createGatehouse } from "@gatehouse/browser";
const auth = createGatehouse({ redirectUri: "https://app.example/" });
auth.getAccessToken({ resource: 42 });
"""


@pytest.fixture(scope="module")
def npm_project(tmp_path_factory) -> Path:
    if shutil.which("npm") is None or not TSC.exists():
        pytest.fail("npm and TypeScript (make install) are needed for the browser SDK package")
    tmp = tmp_path_factory.mktemp("npm")
    packed = run("npm", "pack", "--json", "--pack-destination", str(tmp), cwd=BROWSER_SDK)
    (info,) = json.loads(packed.stdout)
    project = tmp / "app"
    project.mkdir()
    (project / "package.json").write_text(json.dumps({"name": "consumer", "type": "module"}))
    run(
        "npm",
        "install",
        "--offline",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        str(tmp / info["filename"]),
        cwd=project,
    )
    return project


def test_npm_package_installs_with_types_and_imports(npm_project):
    installed = npm_project / "node_modules" / "@gatehouse" / "browser"
    assert {p.name for p in installed.iterdir()} >= {
        "gatehouse.js",
        "gatehouse.d.ts",
        "gatehouse-react.js",
        "gatehouse-react.d.ts",
        "package.json",
    }
    for name in ("gatehouse.js", "gatehouse-react.js", "gatehouse.d.ts"):
        assert (installed / name).read_bytes() == (BROWSER_SDK / name).read_bytes()
    probe = run(
        "node",
        "--input-type=module",
        "-e",
        "import * as sdk from '@gatehouse/browser'; "
        "console.log(JSON.stringify([typeof sdk.createGatehouse, typeof sdk.GatehouseError]))",
        cwd=npm_project,
    )
    assert json.loads(probe.stdout) == ["function", "function"]


def test_type_declarations_check_a_consumer_and_refuse_a_wrong_call(npm_project):
    options = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext"]
    options += ["--target", "es2022", "--lib", "es2022,dom"]
    (npm_project / "consumer.ts").write_text(CONSUMER)
    run("node", str(TSC), *options, "consumer.ts", cwd=npm_project)
    (npm_project / "wrong.ts").write_text(WRONG)
    wrong = subprocess.run(
        ["node", str(TSC), *options, "wrong.ts"],
        cwd=npm_project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Line 4, column 23: the number given as `resource`.
    assert wrong.returncode != 0 and "wrong.ts(4,23): error TS2322" in wrong.stdout, wrong.stdout


def test_gatehouse_still_serves_the_sdk_files(client, tenant):
    for name in ("gatehouse.js", "gatehouse-react.js", "gatehouse.d.ts"):
        response = client.get(f"/static/sdk/{name}", headers={"Host": f"acme-corp.{BASE_DOMAIN}"})
        assert response.status_code == 200
        assert response.get_data() == (BROWSER_SDK / name).read_bytes()
