"""The guide's links: every relative link and image in docs/*.md points at a file that exists.

A newcomer goes from docs/README.md through chapter 7; a broken link or a missing figure
stops them, so it fails here.
"""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
# [text](target) and ![alt](target); the text may span lines.
LINK = re.compile(r"\]\(([^)\s]+)\)")
PAGES = sorted(DOCS.glob("*.md"))


def relative_targets(page: Path) -> list[str]:
    targets = LINK.findall(page.read_text(encoding="utf-8"))
    return [t for t in targets if not re.match(r"[a-z]+://", t) and not t.startswith("#")]


def test_the_guide_has_an_index_and_numbered_chapters() -> None:
    names = [p.name for p in PAGES]
    assert "README.md" in names
    assert any(name.startswith("01-") for name in names)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    for target in relative_targets(page):
        path = (page.parent / target.split("#")[0]).resolve()
        assert path.exists(), f"{page.name} links to missing {target}"


def test_every_chapter_is_reachable_from_the_index() -> None:
    linked = {Path(t).name for t in relative_targets(DOCS / "README.md")}
    chapters = {p.name for p in PAGES if re.match(r"\d\d-", p.name)}
    assert chapters <= linked, f"not linked from docs/README.md: {sorted(chapters - linked)}"
