"""A headless Chromium for the report tests: the DOM after the page's scripts ran, and a
screenshot of its first page.

Chromium runs offline with a fresh profile and the flags that work on this kind of
machine (no sandbox as root, no GPU, no background networking: the network is closed).
`make test` installs Debian's `chromium` when it is absent. Run as a script, it writes
the screenshots the README shows:

    .venv/bin/python tests/browser.py regmig-out docs/
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

#: Browser window of the screenshots: a laptop screen's width, the report's first page.
WINDOW = (1280, 1500)
#: Milliseconds of (virtual) time the page's scripts get before the DOM is read.
SCRIPT_TIME_MS = 20_000
TIMEOUT_SECONDS = 180
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", f"--virtual-time-budget={SCRIPT_TIME_MS}")


def chromium() -> str:
    """The browser's path; `make test` installs it when absent."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("chromium not found: `make test` installs it (apt-get install chromium)")


def _run(page: Path, *arguments: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="regmig-chromium-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}",
             f"--window-size={WINDOW[0]},{WINDOW[1]}", *arguments, page.resolve().as_uri()],
            capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=True)


def rendered_dom(page: Path) -> str:
    """The page's DOM after its scripts ran (vega-embed has drawn the charts)."""
    return _run(page, "--dump-dom").stdout


def screenshot(page: Path, png: Path) -> Path:
    """A PNG of the page's first screen (WINDOW)."""
    png.parent.mkdir(parents=True, exist_ok=True)
    _run(page, f"--screenshot={png.resolve()}")
    return png


class Element:
    """An element of a parsed DOM: tag, attributes, and its children (elements and
    text, in document order)."""

    def __init__(self, tag: str, attributes: dict[str, str]) -> None:
        self.tag, self.attributes = tag, attributes
        self.nodes: list[Element | str] = []

    @property
    def children(self) -> list[Element]:
        return [node for node in self.nodes if isinstance(node, Element)]

    def iter(self):  # noqa: ANN201 - a generator of Elements
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attributes: str) -> list[Element]:
        return [e for e in self.iter() if (tag is None or e.tag == tag)
                and all(e.attributes.get(k) == v for k, v in attributes.items())]

    def with_class(self, name: str) -> list[Element]:
        return [e for e in self.iter() if name in e.attributes.get("class", "").split()]

    def by_id(self, element_id: str) -> Element | None:
        found = self.find_all(id=element_id)
        return found[0] if found else None

    def all_text(self) -> str:
        """The element's text as a reader sees it, white space collapsed."""
        parts = [node if isinstance(node, str) else node.all_text() for node in self.nodes
                 if isinstance(node, str) or node.tag not in ("script", "style")]
        return " ".join(" ".join(parts).split())


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].nodes.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.stack[-1].nodes.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].nodes.append(data)


def parse(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    return builder.root


def _main(run_folder: Path, out: Path) -> None:
    for name in ("report", "linkage_report"):
        print(screenshot(run_folder / f"{name}.html", out / f"{name}.png"))


if __name__ == "__main__":
    _main(Path(sys.argv[1]), Path(sys.argv[2]))
