"""A person-readable name for a browser from its User-Agent header ("Chrome on Linux").

Parsing is ua-parser's (the Browserscope/uap-core rules, kept up to date upstream), never
regexes of our own. Results are cached: a session list shows the same few strings.
"""

from __future__ import annotations

from functools import lru_cache

from ua_parser import parse

UNKNOWN = "Unknown browser"


@lru_cache(maxsize=1024)
def describe(user_agent: str | None) -> str:
    """``"Chrome on Linux"``, ``"Mobile Safari on iOS"``, ``"curl"``; ``"Unknown browser"``."""
    if not user_agent or not user_agent.strip():
        return UNKNOWN
    result = parse(user_agent[:512])
    browser = result.user_agent.family if result.user_agent else None
    system = result.os.family if result.os else None
    if browser in (None, "Other"):
        browser = None
    if system in (None, "Other"):
        system = None
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or UNKNOWN
