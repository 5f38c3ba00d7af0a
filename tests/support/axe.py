"""axe-core (npm ``axe-core``, vendored by ``make install`` into node_modules) run inside
Chromium pages: the WCAG 2.x A/AA rules, serious and critical findings only."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = ((390, 844), (1280, 900))
SCHEMES = ("light", "dark")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def inject(page) -> None:
    """Load axe into the page (once per document; bypass_csp lets it in)."""
    page.add_script_tag(path=str(AXE))


def run(page) -> list[str]:
    """The serious or critical violations on the page as it is now, one line each."""
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def serious_violations(page) -> list[str]:
    """Inject axe and run it once."""
    inject(page)
    return run(page)
