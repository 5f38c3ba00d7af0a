"""Uploaded tenant logos (#20): PNG and JPEG are decoded and re-encoded with Pillow (no
metadata, no trailing bytes, no decompression bombs); SVG is parsed with defusedxml and
reduced to an allowlist of drawing elements and attributes (no script, foreignObject,
event handlers, external references or CSS ``url()``). Anything else is refused with a
message naming the rule. The stored bytes are served at a URL holding their SHA-256."""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError
from sqlalchemy import select

from app.extensions import db
from app.models import TenantLogo
from app.services import audit
from app.services.errors import ValidationFailed

MAX_BYTES = 256 * 1024  # uploaded and stored
MAX_SIDE = 2048  # pixels, PNG and JPEG
MAX_DEPTH = 50  # SVG element nesting
# Pillow refuses (DecompressionBombError) beyond twice this and warns beyond it; the
# warning is turned into a refusal below. Headers claiming more never get decoded.
Image.MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}
FIELD = "logo"

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ElementTree.register_namespace("", SVG_NS)
ElementTree.register_namespace("xlink", XLINK_NS)

# fmt: off
SVG_ELEMENTS = frozenset((
    "svg", "g", "defs", "title", "desc", "path", "rect", "circle", "ellipse", "line",
    "polyline", "polygon", "text", "tspan", "linearGradient", "radialGradient", "stop",
    "clipPath", "mask", "use", "symbol",
))
SVG_ATTRIBUTES = frozenset((
    "id", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy", "dx",
    "dy", "d", "points", "width", "height", "viewBox", "preserveAspectRatio", "transform",
    "version", "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width",
    "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray",
    "stroke-dashoffset", "stroke-opacity", "opacity", "clip-path", "clip-rule",
    "clipPathUnits", "mask", "maskUnits", "maskContentUnits", "offset", "stop-color",
    "stop-opacity", "gradientUnits", "gradientTransform", "spreadMethod", "font-family",
    "font-size", "font-weight", "font-style", "text-anchor", "dominant-baseline",
    "letter-spacing", "textLength", "lengthAdjust", "style", "color", "display",
    "visibility", "vector-effect", "shape-rendering", "href",
))
# fmt: on
# url(...) only to a fragment of the same document; no escapes, at-rules or expressions.
_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
_FRAGMENT = re.compile(r"#[A-Za-z_][\w.-]*")
_UNSAFE_CSS = re.compile(
    r"[\\<>@]|expression|javascript:|behaviou?r|-moz-binding|image-set|image\(|src\(", re.I
)


def _refuse(message: str):
    raise ValidationFailed({FIELD: message})


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return "image/svg+xml"
    _refuse("must be a PNG, JPEG or SVG image")


# --- PNG and JPEG ---------------------------------------------------------------------


def _raster(data: bytes, content_type: str) -> bytes:
    fmt = "PNG" if content_type == "image/png" else "JPEG"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE:
                _refuse(f"at most {MAX_SIDE}×{MAX_SIDE} pixels (this one is {width}×{height})")
            image.load()
            return _reencode(image, fmt)
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        _refuse(f"at most {MAX_SIDE}×{MAX_SIDE} pixels")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, TypeError):
        _refuse(f"is not a readable {fmt} image")


def _reencode(image, fmt: str) -> bytes:
    if fmt == "JPEG":
        image = ImageOps.exif_transpose(image)  # the orientation survives, the EXIF not
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        image = image.convert("RGBA")
    # Only what drawing needs is kept: no text chunks, EXIF, XMP or ICC profile.
    keep = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
    image.info = keep
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "JPEG", quality=90, optimize=True)
    return out.getvalue()


# --- SVG ------------------------------------------------------------------------------


def _local(name: str) -> tuple[str, str]:
    if name.startswith("{"):
        ns, _, local = name[1:].partition("}")
        return ns, local
    return "", name


def _safe_value(name: str, value: str) -> bool:
    if name == "href":
        return bool(_FRAGMENT.fullmatch(value.strip()))
    if _UNSAFE_CSS.search(value):
        return False
    return all(_FRAGMENT.fullmatch(m.group(2).strip()) for m in _URL.finditer(value)) and (
        "url(" not in _URL.sub("", value).lower()
    )


def _clean(element, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        _refuse(f"an SVG nested more than {MAX_DEPTH} levels deep is not accepted")
    for child in list(element):
        ns, local = _local(child.tag) if isinstance(child.tag, str) else ("", "")
        if ns != SVG_NS or local not in SVG_ELEMENTS:
            element.remove(child)  # script, foreignObject, style, image, a, other XML
            continue
        _clean(child, depth + 1)
    for name in list(element.attrib):
        ns, local = _local(name)
        allowed = (ns == "" and local in SVG_ATTRIBUTES) or (ns == XLINK_NS and local == "href")
        if not allowed or not _safe_value(local, element.attrib[name]):
            del element.attrib[name]  # on* handlers, external hrefs, url(http…)
    if element.tail is not None:
        element.tail = element.tail if not element.tail.strip() else None
    if element.text is not None and _local(element.tag)[1] not in (
        "text",
        "tspan",
        "title",
        "desc",
    ):
        element.text = None


def _svg(data: bytes) -> bytes:
    try:
        root = parse_xml(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        _refuse("an SVG with a DOCTYPE or entities is not accepted")
    except (ElementTree.ParseError, ValueError):
        _refuse("is not well-formed SVG (XML)")
    if root.tag != f"{{{SVG_NS}}}svg":
        _refuse("must be an SVG document (an <svg> root in the SVG namespace)")
    _clean(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root)


def sanitise(data: bytes) -> tuple[str, bytes]:
    """(content type, the bytes to store) for an upload, or ValidationFailed."""
    if not data:
        _refuse("is empty")
    if len(data) > MAX_BYTES:
        _refuse(f"at most {MAX_BYTES // 1024} KB")
    content_type = _sniff(data)
    clean = _svg(data) if content_type == "image/svg+xml" else _raster(data, content_type)
    if len(clean) > MAX_BYTES:
        _refuse(f"at most {MAX_BYTES // 1024} KB once re-encoded")
    return content_type, clean


# --- storage --------------------------------------------------------------------------


def get_logo(tenant) -> TenantLogo | None:
    return db.session.get(TenantLogo, tenant.id)


def logo_info(tenant_id: str) -> tuple[str, str] | None:
    """(digest, extension) of a tenant's logo, without its bytes."""
    row = db.session.execute(
        select(TenantLogo.digest, TenantLogo.content_type).where(TenantLogo.tenant_id == tenant_id)
    ).first()
    return (row.digest, EXTENSIONS[row.content_type]) if row else None


def set_logo(tenant, data: bytes, declared: str | None = None) -> TenantLogo:
    """Sanitise and store; ``declared`` (a request's Content-Type) must match the bytes."""
    content_type, clean = sanitise(data)
    if declared and declared != content_type:
        _refuse(f"the body is {content_type}, not {declared}")
    row = get_logo(tenant) or TenantLogo(tenant_id=tenant.id)
    row.content_type = content_type
    row.data = clean
    row.size = len(clean)
    row.digest = hashlib.sha256(clean).hexdigest()
    db.session.add(row)
    db.session.flush()
    audit.record(
        tenant,
        "branding.logo_updated",
        target_type="tenant",
        target_id=tenant.id,
        content_type=content_type,
        digest=row.digest,
    )
    return row


def delete_logo(tenant) -> bool:
    row = get_logo(tenant)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    audit.record(tenant, "branding.logo_removed", target_type="tenant", target_id=tenant.id)
    return True


def logo_path(digest: str, ext: str) -> str:
    """The path of a logo below the tenant's origin."""
    return f"/branding/logo/{digest}.{ext}"


def logo_to_dict(tenant, row: TenantLogo) -> dict:
    from app.tenancy import tenant_origin

    return {
        "content_type": row.content_type,
        "digest": row.digest,
        "size": row.size,
        "url": tenant_origin(tenant) + logo_path(row.digest, EXTENSIONS[row.content_type]),
        "updated_at": row.updated_at.isoformat().replace("+00:00", "Z"),
    }


def logo_response(tenant, digest: str, ext: str):
    """The HTTP answer for ``/branding/logo/<digest>.<ext>`` of ``tenant`` (404 unless it
    is that tenant's current logo)."""
    from flask import Response
    from flask import abort
    from flask import request

    row = get_logo(tenant)
    if row is None or row.digest != digest or EXTENSIONS[row.content_type] != ext:
        abort(404)
    response = Response(status=200, mimetype=row.content_type)
    response.set_etag(row.digest)  # strong: the digest of exactly these bytes
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if row.content_type == "image/svg+xml":
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'"
        )
    if request.if_none_match.contains(row.digest):
        response.status_code = 304
        return response
    response.set_data(row.data)
    return response
