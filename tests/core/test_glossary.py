"""The glossary (src/membercare/locale/GLOSSARY.md) and the Chinese catalogue say the same word."""

import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[2] / "src" / "membercare" / "locale"
ROW = re.compile(r"^\| ([^|]+?) \| ([^|]+?) \|")


def _catalogue() -> dict[str, set[str]]:
    """msgid -> its Chinese in every context (one concept, one word: all must agree)."""
    text = (LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text()
    pairs: dict[str, set[str]] = {}
    for found in re.finditer(r'^msgid "(.*)"\nmsgstr "(.*)"$', text, re.M):
        pairs.setdefault(found.group(1), set()).add(found.group(2))
    return pairs


def test_the_catalogue_uses_the_glossarys_words():
    rows = [ROW.match(line) for line in (LOCALE / "GLOSSARY.md").read_text().splitlines()]
    terms = {m.group(1): m.group(2) for m in rows if m and m.group(1) not in ("English (msgid)", "---")}
    assert len(terms) >= 20
    catalogue = _catalogue()
    wrong = {k: (v, catalogue.get(k)) for k, v in terms.items() if catalogue.get(k) != {v}}
    assert wrong == {}
