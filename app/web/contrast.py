"""WCAG 2.2 contrast for the tenant's brand colour (#20): the text on a brand-coloured
button is black or white, whichever contrasts more (always at least 4.5:1, SC 1.4.3);
links drawn in the brand colour are darkened (light theme) or lightened (dark theme)
until they reach 4.5:1 on the theme's surfaces."""

from __future__ import annotations

from functools import lru_cache

AA_TEXT = 4.5
WHITE = "#ffffff"
BLACK = "#000000"
# The darkest light background text in the brand colour sits on (code, the page itself).
LIGHT_BACKGROUND = "#f3f4f6"


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def luminance(color: str) -> float:
    """Relative luminance (WCAG 2.x definition)."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@lru_cache(maxsize=1024)
def text_on(color: str) -> str:
    """Black or white, whichever reads better on ``color`` (the better one is ≥ 4.58:1)."""
    return WHITE if contrast(color, WHITE) >= contrast(color, BLACK) else BLACK


@lru_cache(maxsize=1024)
def readable_on_white(color: str) -> str:
    """``color``, darkened just enough to reach 4.5:1 on white and on the light grey
    backgrounds of the pages (links, focus text)."""
    r, g, b = _rgb(color)
    step = 0
    candidate = color
    while contrast(candidate, LIGHT_BACKGROUND) < AA_TEXT and step < 100:
        step += 1
        factor = 1 - step / 100
        candidate = _hex((r * factor, g * factor, b * factor))
    return candidate


# The lightest dark background of the dark theme (static/css/dark.css: --card).
DARK_BACKGROUND = "#1e293b"


@lru_cache(maxsize=1024)
def readable_on_dark(color: str) -> str:
    """``color``, lightened just enough to reach 4.5:1 on the dark theme's surfaces."""
    r, g, b = _rgb(color)
    step = 0
    candidate = color
    while contrast(candidate, DARK_BACKGROUND) < AA_TEXT and step < 100:
        step += 1
        mix = step / 100
        candidate = _hex((r + (255 - r) * mix, g + (255 - g) * mix, b + (255 - b) * mix))
    return candidate
