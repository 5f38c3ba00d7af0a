"""Brand colours can't break the page (#20): text on the brand colour is chosen for at
least 4.5:1 (WCAG 2.2 SC 1.4.3), and the colour as link text is darkened to 4.5:1."""

from __future__ import annotations

import re

import pytest

from app.web.contrast import contrast
from app.web.contrast import readable_on_white
from app.web.contrast import text_on


@pytest.mark.parametrize(
    "color",
    ["#ffee00", "#4f46e5", "#777777", "#767676", "#00ff00", "#000000", "#ffffff", "#ff0000"],
)
def test_text_on_the_brand_colour_reaches_aa(color):
    assert contrast(color, text_on(color)) >= 4.5
    assert contrast(readable_on_white(color), "#ffffff") >= 4.5


def test_known_values():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert text_on("#ffee00") == "#000000" and text_on("#4f46e5") == "#ffffff"
    assert readable_on_white("#4f46e5") == "#4f46e5"  # already readable: unchanged


def test_the_hosted_page_uses_the_chosen_colours(app, make_tenant, tenant_client):
    tenant = make_tenant("acme-corp", "Acme Corp", branding={"primary_color": "#ffee00"})
    html = tenant_client(tenant).get("/login").get_data(as_text=True)
    style = re.search(r":root \{([^}]*)\}", html).group(1)
    assert "--primary: #ffee00" in style and "--on-primary: #000000" in style
    link = re.search(r"--primary-text: (#[0-9a-f]{6})", style).group(1)
    assert contrast(link, "#ffffff") >= 4.5
