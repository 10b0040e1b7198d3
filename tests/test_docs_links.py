"""The guide's structure: links resolve, and every code block is a checked doctest.

A newcomer goes from docs/README.md through chapter 7; a broken link or a missing figure
stops them, so it fails here. pytest runs the ``>>>`` examples of docs/*.md as doctests
(``--doctest-glob='*.md'``); a fenced block without them would never run, so it fails here.
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


FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_code_block_is_a_doctest(page: Path) -> None:
    for language, body in FENCE.findall(page.read_text(encoding="utf-8")):
        first_line = body.splitlines()[0] if body else ""
        assert language == "python" and first_line.startswith(">>> "), (
            f"{page.name}: a ```{language} block starting {first_line!r} is not a doctest"
        )
        # doctest ends an example's expected output at a blank line; without one the
        # closing fence would be read as expected output.
        assert body.endswith("\n\n"), f"{page.name}: block before {first_line!r} needs a blank line"
