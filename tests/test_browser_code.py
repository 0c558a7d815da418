# SPDX-License-Identifier: GPL-3.0-or-later
"""The code pages in a real headless Chromium (``tests/browser.py``) against a live server, for git
and hg: browse from the tree to a file and open a line anchor (and a range, and a click on a line
number); open a changeset, switch between unified and side-by-side, fold a file; compare two
revisions through the compare form. Screenshots of the file, changeset and compare pages are
saved (the folder is printed).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import shot
from tests.live import LiveServer, unique
from tests.vcs_fixtures import Built, git, hg, shared_build

KINDS = ["git", "hg"]


@pytest.fixture(scope="module")
def repos(web_server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A public repository per backend holding the shared history of ``vcs_fixtures.py``."""
    made: dict[str, Any] = {}
    for kind in KINDS:
        built: Built = shared_build(
            kind, tmp_path_factory, tmp_path_factory.mktemp(f"browser-code-{kind}")
        )
        name = unique(f"code-{kind}-")
        web_server.ok("create_repo", repo_name=name, repo_type=kind)
        dest = web_server.home / "repos" / name
        if kind == "git":
            git(
                built.work,
                "push",
                "-q",
                str(dest),
                "refs/heads/*:refs/heads/*",
                "refs/tags/*:refs/tags/*",
            )
        else:
            hg(built.work, "push", "-q", "--new-branch", "-r", "all()", str(dest))
        made[kind] = (name, built)
    return made


def _no_errors(page: Any) -> None:
    assert page.js_errors == [], page.js_errors


@pytest.mark.parametrize("kind", KINDS)
def test_browse_to_a_file_and_open_line_anchors(
    page: Any, repos: dict[str, Any], shots: Path, kind: str
) -> None:
    name, built_ = repos[kind]
    page.goto(f"/{name}/files/tip/")
    page.get_by_role("link", name="src/").click()
    page.wait_for_url(re.compile(r"/files/tip/src$"))
    page.get_by_role("link", name="main.py").click()
    page.wait_for_url(re.compile(r"/files/tip/src/main\.py$"))
    assert page.locator("#L2").inner_text().strip().endswith("print('feature')")
    # a click on a line number marks the line and puts it in the address
    page.locator('a[data-line="2"]').click()
    assert page.url.endswith("#L2")
    assert page.locator("#L2").get_attribute("class") == "selected"
    assert page.locator("#L1").get_attribute("class") in (None, "")
    # an address with a range marks every line of it
    page.goto(f"/{name}/files/tip/src/main.py#L1-L2")
    page.wait_for_selector("#L1.selected")
    assert page.locator("tr.selected").count() == 2
    # the path's breadcrumbs lead back to the directory
    page.get_by_role("navigation", name="Path").get_by_role("link", name="src").click()
    page.wait_for_url(re.compile(r"/files/tip/src$"))
    page.goto(f"/{name}/files/tip/README.md#L2")
    page.wait_for_selector("#L2.selected")
    if kind == "git":
        page.goto(f"/{name}/files/tip/src/main.py#L2")
        page.wait_for_selector("#L2.selected")
        shot(page, shots, "file", full_page=False)
        page.emulate_media(color_scheme="dark")
        shot(page, shots, "file-dark", full_page=False)
        page.emulate_media(color_scheme="light")
        page.goto(f"/{name}/files/tip/")
        shot(page, shots, "tree", full_page=False)
        page.goto(f"/{name}/annotate/tip/README.md")
        shot(page, shots, "annotate", full_page=False)
        page.goto(f"/{name}/changelog")
        shot(page, shots, "changelog", full_page=False)
        page.set_viewport_size({"width": 390, "height": 800})
        page.goto(f"/{name}/changeset/{built_.ids['c3']}")
        shot(page, shots, "changeset-phone", full_page=False)
    _no_errors(page)


@pytest.mark.parametrize("kind", KINDS)
def test_changeset_unified_and_side_by_side(
    page: Any, repos: dict[str, Any], shots: Path, kind: str
) -> None:
    name, built = repos[kind]
    page.goto(f"/{name}/changelog")
    page.get_by_role("link", name="master work").first.click()
    page.wait_for_url(re.compile(f"/changeset/{built.ids['c3']}$"))
    assert page.locator("table.diff.unified").first.is_visible()
    assert page.locator("table.diff.sbs").count() == 0
    if kind == "git":
        shot(page, shots, "changeset")
    page.get_by_role("link", name="Side by side").click()
    page.wait_for_url(re.compile(r"mode=sbs"))
    assert page.locator("table.diff.sbs").first.is_visible()
    assert page.locator("table.diff.unified").count() == 0
    # the removed line on the left, the line replacing it on the right, in one row
    row = page.locator("table.diff.sbs tr", has=page.locator("td.del")).first
    assert "hello" in row.locator("td.src.del").inner_text()
    assert "hello, world" in row.locator("td.src.add").inner_text()
    if kind == "git":
        shot(page, shots, "changeset-side-by-side")
    # a file folds away under its header
    first = page.locator("details.diff-file").first
    first.locator("summary").click()
    assert first.get_attribute("open") is None
    assert not first.locator("table").is_visible()
    page.get_by_role("link", name="Unified").click()
    page.wait_for_url(lambda url: "mode=sbs" not in url)
    assert page.locator("table.diff.unified").first.is_visible()
    _no_errors(page)


@pytest.mark.parametrize("kind", KINDS)
def test_compare_two_revisions(page: Any, repos: dict[str, Any], shots: Path, kind: str) -> None:
    name, built = repos[kind]
    page.goto(f"/{name}")
    page.get_by_role("navigation", name="Repository").get_by_role("link", name="Compare").click()
    page.wait_for_url(re.compile(f"/{name}/compare$"))
    page.get_by_label("Base revision").fill(built.ids["c1"][:12])
    page.get_by_label("Head revision").fill("feature")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r"/compare/[0-9a-f]{12}\.\.\.feature"))
    changesets = page.locator("#changesets li")
    assert changesets.count() == 1
    assert "feature work" in changesets.first.inner_text()
    assert page.get_by_role("link", name="docs/guide.txt").first.is_visible()
    if kind == "git":
        shot(page, shots, "compare")
    _no_errors(page)
