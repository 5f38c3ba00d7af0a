"""A person-readable name for a browser from its User-Agent header ("Chrome on Linux").

Parsing is ua-parser's (the Browserscope/uap-core rules, kept up to date upstream), never
regexes of our own. Results are cached: a session list shows the same few strings.
"""

from __future__ import annotations

from functools import lru_cache

from flask_babel import gettext as _
from ua_parser import parse

from app.i18n import N_

UNKNOWN = N_("Unknown browser")


@lru_cache(maxsize=1024)
def _families(user_agent: str) -> tuple[str | None, str | None]:
    """(browser family, OS family) as ua-parser names them; None for unknown ("Other")."""
    result = parse(user_agent[:512])
    browser = result.user_agent.family if result.user_agent else None
    system = result.os.family if result.os else None
    return (
        None if browser in (None, "Other") else browser,
        None if system in (None, "Other") else system,
    )


def describe(user_agent: str | None) -> str:
    """``"Chrome on Linux"``, ``"Mobile Safari on iOS"``, ``"curl"``; ``"Unknown browser"``
    (the words in the page's language; the parse is cached, the wording is not)."""
    if not user_agent or not user_agent.strip():
        return _(UNKNOWN)
    browser, system = _families(user_agent)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _(UNKNOWN)
