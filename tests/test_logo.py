"""Logo upload (#20): PNG and JPEG re-encoded, SVG reduced to an allowlist, sizes limited,
served by digest with year-long immutable caching, a strong ETag and a locked-down SVG;
through the admin API and the console, and never across tenants."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from PIL import Image

from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.console import console_fixtures
from tests.support.http import csrf_from

PATH = "/tenants/acme-corp/logo"
make_console = console_fixtures()

GOOD_SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" width="10" height="10">
  <defs><linearGradient id="g"><stop offset="0" stop-color="#f00"/></linearGradient></defs>
  <rect width="10" height="10" fill="url(#g)"/><circle cx="5" cy="5" r="3" fill="#fff"/>
</svg>"""

EVIL_SVG = b"""<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     viewBox="0 0 10 10" onload="alert(1)">
  <script>alert(document.cookie)</script>
  <style>@import url(https://evil.example/x.css);</style>
  <foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">hi</div></foreignObject>
  <image href="https://evil.example/track.png" width="1" height="1"/>
  <a href="javascript:alert(1)"><rect width="1" height="1"/></a>
  <use xlink:href="https://evil.example/sprite.svg#x"/>
  <rect width="10" height="10" fill="url(https://evil.example/p)" onclick="alert(2)"
        style="fill: url(https://evil.example/q)"/>
  <circle cx="5" cy="5" r="2" fill="#123456"/>
</svg>"""

ENTITY_SVG = b"""<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&lol2;</text></svg>"""


def image_bytes(fmt: str, size=(40, 20), mode="RGB", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else 1).save(out, fmt, **save)
    return out.getvalue()


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, tenant))


def put(api, body: bytes, content_type: str, path: str = PATH):
    return api.put(path, data=body, headers={"Content-Type": content_type})


def fetch_logo(tenant_client, tenant, url: str, **headers):
    path = re.sub(r"^https?://[^/]+", "", url)
    return tenant_client(tenant).get(path, headers=headers)


def test_png_is_re_encoded_without_metadata_and_served_cached(api, tenant, tenant_client):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret camera serial 1234")
    upload = image_bytes("PNG", pnginfo=info) + b"<script>alert(1)</script>"  # polyglot tail
    saved = put(api, upload, "image/png")
    assert saved.status_code == 200, saved.get_data(as_text=True)
    body = saved.get_json()
    assert body["content_type"] == "image/png"
    assert body["url"].startswith("http://acme-corp.gatehouse.test/branding/logo/")
    assert body["url"].endswith(f"/{body['digest']}.png")
    assert api.get(PATH).get_json() == body

    served = fetch_logo(tenant_client, tenant, body["url"])
    assert served.status_code == 200 and served.mimetype == "image/png"
    data = served.get_data()
    assert hashlib.sha256(data).hexdigest() == body["digest"]
    assert b"secret camera" not in data and b"<script" not in data
    assert Image.open(io.BytesIO(data)).size == (40, 20)
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["ETag"] == f'"{body["digest"]}"'  # strong
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in served.headers

    again = fetch_logo(
        tenant_client, tenant, body["url"], **{"If-None-Match": served.headers["ETag"]}
    )
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == served.headers["ETag"]
    other = fetch_logo(tenant_client, tenant, body["url"], **{"If-None-Match": '"nope"'})
    assert other.status_code == 200

    # The hosted login page shows it, ahead of branding.logo_url.
    assert (
        api.patch(
            "/tenants/acme-corp/settings",
            json={"branding": {"logo_url": "https://cdn.example/l.png"}},
        ).status_code
        == 200
    )
    login = tenant_client(tenant).get("/login").get_data(as_text=True)
    assert f'src="/branding/logo/{body["digest"]}.png"' in login
    assert "cdn.example/l.png" not in login

    # Removing it: the old URL is gone and the configured URL is back.
    assert api.delete(PATH).status_code == 204
    assert fetch_logo(tenant_client, tenant, body["url"]).status_code == 404
    assert problem_of(api.get(PATH))["status"] == 404
    assert "https://cdn.example/l.png" in tenant_client(tenant).get("/login").get_data(as_text=True)


def test_jpeg_loses_exif_and_multipart_works(api, tenant, tenant_client):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc"  # Make
    exif[0x0112] = 6  # rotated: the pixels are turned, the tag dropped
    upload = image_bytes("JPEG", size=(40, 20), exif=exif.tobytes())
    saved = api.put(
        PATH,
        data={"logo": (io.BytesIO(upload), "logo.jpg", "image/jpeg")},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    body = saved.get_json()
    assert body["content_type"] == "image/jpeg" and body["url"].endswith(".jpg")
    data = fetch_logo(tenant_client, tenant, body["url"]).get_data()
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (20, 40)
    assert b"SpyCam" not in data and not image.getexif()


def test_svg_is_reduced_to_drawing_and_locked_down(api, tenant, tenant_client):
    good = put(api, GOOD_SVG, "image/svg+xml")
    assert good.status_code == 200, good.get_data(as_text=True)
    served = fetch_logo(tenant_client, tenant, good.get_json()["url"])
    assert served.mimetype == "image/svg+xml"
    assert (
        served.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    )
    kept = served.get_data(as_text=True)
    assert 'fill="url(#g)"' in kept and "<circle" in kept and "linearGradient" in kept

    evil = put(api, EVIL_SVG, "image/svg+xml")
    assert evil.status_code == 200, evil.get_data(as_text=True)
    text = fetch_logo(tenant_client, tenant, evil.get_json()["url"]).get_data(as_text=True)
    for gone in (
        "script",
        "alert",
        "onload",
        "onclick",
        "foreignObject",
        "evil.example",
        "javascript",
        "@import",
        "<image",
        "<a ",
        "<style",
    ):
        assert gone not in text, gone
    assert 'fill="#123456"' in text  # the drawing itself stays

    plain_href = b"""<svg xmlns="http://www.w3.org/2000/svg"><defs><circle id="c" r="2"/></defs>
      <use href="#c"/><use href="//evil.example/x.svg#c"/>
      <rect style="fill: red; background: image-set('x.png' 1x)"/></svg>"""
    text = fetch_logo(
        tenant_client, tenant, put(api, plain_href, "image/svg+xml").get_json()["url"]
    ).get_data(as_text=True)
    assert 'href="#c"' in text and "evil.example" not in text and "image-set" not in text


@pytest.mark.parametrize(
    "body,content_type,status,message",
    [
        (ENTITY_SVG, "image/svg+xml", 400, "DOCTYPE"),
        (b"<html><body>hi</body></html>", "image/svg+xml", 400, "<svg> root"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'", "image/svg+xml", 400, "well-formed"),
        (b"GIF89a\x01\x00\x01\x00", "image/png", 400, "PNG, JPEG or SVG"),
        (b"\x89PNG\r\n\x1a\nnot really", "image/png", 400, "not a readable PNG"),
        (GOOD_SVG, "image/png", 400, "image/svg+xml, not image/png"),
        (GOOD_SVG, "image/gif", 415, "image/png"),
        (GOOD_SVG, "application/json", 415, "image/png"),
        (b"", "image/png", 400, "empty"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'>"
            + b"<g>" * 5000
            + b"</g>" * 5000
            + b"</svg>",
            "image/svg+xml",
            400,
            "levels deep",
        ),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png", 400, "not a readable PNG"),
    ],
)
def test_bad_uploads_are_refused_with_a_problem(api, body, content_type, status, message):
    answer = put(api, body, content_type)
    problem = problem_of(answer)
    assert answer.status_code == status
    assert message in (problem.get("detail", "") + str(problem.get("errors", {})))
    assert problem_of(api.get(PATH))["status"] == 404  # nothing was stored


def test_a_sixteen_bit_png_is_re_encoded(api, tenant, tenant_client):
    saved = put(api, image_bytes("PNG", mode="I;16"), "image/png")
    assert saved.status_code == 200, saved.get_data(as_text=True)
    data = fetch_logo(tenant_client, tenant, saved.get_json()["url"]).get_data()
    assert Image.open(io.BytesIO(data)).size == (40, 20)


def test_size_and_dimension_limits(api):
    big = put(api, b"\x89PNG\r\n\x1a\n" + b"\0" * (256 * 1024), "image/png")
    assert big.status_code == 413 and "256 KB" in problem_of(big)["detail"]
    wide = put(api, image_bytes("PNG", size=(3000, 10)), "image/png")
    assert wide.status_code == 400 and "2048" in problem_of(wide)["detail"]
    # A decompression bomb: tiny file, huge header (a 1-bit PNG of 30000×30000).
    bomb = put(api, image_bytes("PNG", size=(30000, 30000), mode="1"), "image/png")
    assert bomb.status_code == 400 and "2048" in problem_of(bomb)["detail"]


def test_tenant_isolation(app, api, tenant, other_tenant, tenant_client):
    url = put(api, image_bytes("PNG"), "image/png").get_json()["url"]
    path = re.sub(r"^https?://[^/]+", "", url)
    other = Api(app, create_admin_key(app, other_tenant))
    assert other.get(PATH).status_code == 404
    assert put(other, image_bytes("PNG"), "image/png").status_code == 404
    assert other.delete(PATH).status_code == 404
    # A's logo URL is not served at B's origin.
    assert tenant_client(other_tenant).get(path).status_code == 404
    assert tenant_client(tenant).get(path).status_code == 200
    assert api.get(PATH).status_code == 200  # untouched


def test_a_logo_change_bumps_the_config_version(app, api, tenant):
    from sqlalchemy import text

    from app.extensions import db

    def version():
        with app.app_context():
            return db.session.execute(
                text("SELECT config_version FROM tenants WHERE id = :id"), {"id": tenant.id}
            ).scalar_one()

    before = version()
    put(api, image_bytes("PNG"), "image/png")
    assert version() > before
    middle = version()
    api.delete(PATH)
    assert version() > middle


def test_console_uploads_refuses_and_removes(app, tenant, make_console, tenant_client):
    console = make_console(tenant, "boss@acme.example")
    page = console.get("/admin/settings")
    assert page.status_code == 200 and 'name="logo"' in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))

    refused = console.post(
        "/admin/settings/logo",
        data={"csrf_token": token, "logo": (io.BytesIO(b"plain text"), "logo.txt")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "must be a PNG, JPEG or SVG image" in refused.get_data(as_text=True)
    no_csrf = console.post(
        "/admin/settings/logo",
        data={"logo": (io.BytesIO(GOOD_SVG), "logo.svg")},
        content_type="multipart/form-data",
    )
    assert no_csrf.status_code == 400

    saved = console.post(
        "/admin/settings/logo",
        data={"csrf_token": token, "logo": (io.BytesIO(GOOD_SVG), "logo.svg")},
        content_type="multipart/form-data",
    )
    assert saved.status_code == 302
    html = console.get("/admin/settings").get_data(as_text=True)
    src = re.search(r'src="(/branding/logo/[0-9a-f]{64}\.svg)"', html).group(1)
    assert tenant_client(tenant).get(src).status_code == 200
    assert src in tenant_client(tenant).get("/login").get_data(as_text=True)

    removed = console.post("/admin/settings/logo/delete", data={"csrf_token": token})
    assert removed.status_code == 302
    assert tenant_client(tenant).get(src).status_code == 404


def test_path_routed_tenant_serves_its_logo_below_its_prefix(app, api, tenant, tenant_client):
    digest = put(api, image_bytes("PNG"), "image/png").get_json()["digest"]
    client = tenant_client(tenant, path_form=True)
    login = client.get("/login").get_data(as_text=True)
    assert f"/t/acme-corp/branding/logo/{digest}.png" in login
    assert client.get(f"/branding/logo/{digest}.png").status_code == 200
