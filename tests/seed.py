"""Reading the seed 说明 (tests/data, copied from shared/seeds) and our printed HTML as lists of paragraphs."""

import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

SEED = Path(__file__).parent / "data" / "seed_2024_hualong_shuoming.txt"


def normalise(text):
    """NFKC, no whitespace, Chinese quotes read as ASCII ones: how the issue compares the texts."""
    text = unicodedata.normalize("NFKC", text).replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", "", text)


def seed_paragraphs():
    """The seed's paragraphs, mending its PDF-extraction artefacts (docs/domain.md §2):
    "#" and "- " marks are dropped; a "- " line that does not start a numbered point continues the paragraph
    before it; a paragraph that stopped without closing punctuation was split by a page break."""
    paragraphs = []
    for line in SEED.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if not text:
            continue
        if text.startswith("#"):
            paragraphs.append(text.lstrip("#").strip())
            continue
        continues = False
        if text.startswith("- "):
            text = text[2:]
            continues = not re.match(r"\d+\.", text)
        previous = paragraphs[-1] if paragraphs else ""
        if previous and not re.search(r"[。;；:：]$", previous) and not re.match(r"[一二三四五六七八九十]+、|\(", previous):
            continues = True
        if continues:
            paragraphs[-1] += text
        else:
            paragraphs.append(text)
    return paragraphs


class _Paragraphs(HTMLParser):
    BLOCKS = {"h1", "h2", "h3", "p"}

    def __init__(self):
        super().__init__()
        self.paragraphs, self._depth, self._text = [], 0, []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            self._depth += 1

    def handle_endtag(self, tag):
        if tag in self.BLOCKS:
            self._depth -= 1
            self.paragraphs.append("".join(self._text).strip())
            self._text = []

    def handle_data(self, data):
        if self._depth:
            self._text.append(data)


def html_paragraphs(html, until_appendix=True):
    if until_appendix and 'class="appendix"' in html:
        html = html.split('class="appendix"')[0]
    parser = _Paragraphs()
    parser.feed(html)
    return [p for p in parser.paragraphs if p]
