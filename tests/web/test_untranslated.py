"""Every page each role reaches, rendered in Chinese (zh-hans), shows no English words and no internal codes
(issue 18).

The demo data set is loaded once; for each demo login the site is crawled breadth-first from "/" (the header's
menus are on every page) with the test client, following the same-site links of the pages (and the row links
and htmx panels they load). The visible text of each page (text outside <script>/<style>/comments, and the
placeholder, title, aria-label, alt and confirm texts and button values) must not contain a Latin word unless
it is on the short allow-list below or is a piece of data that is Latin by nature (an SKU, a coupon code, an
e-mail address...), matched by its own pattern. The member-facing pages (login, RSVP, survey) and the error
pages are read too."""

import datetime as dt
import io
import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import quote, urldefrag, urlsplit

import pytest
from django.core.management import call_command
from django.urls import Resolver404, resolve

from membercare.events.models import Invitation
from membercare.messaging.config import DEFAULTS, NEW_PRODUCT_WORDS, PROMOTION_WORDS, WHAT_HAPPENED
from membercare.messaging.models import Message
from membercare.org.models import Staff

pytestmark = pytest.mark.django_db

ROLES = ["clerk", "manager", "specialist", "admin"]  # the demo's logins (membercare.demo.gen_common)
MAX_PAGES = 120  # per role
MAX_QUERIES_PER_PATH = 2  # distinct query strings per path (page 2, a filter...) besides the bare path
MAX_PATHS_PER_ROUTE = 3  # distinct objects per route (three members' pages show what all of them show)
SKIP_PREFIXES = ("/logout/", "/admin/", "/api/", "/static/", "/i18n/")
DOWNLOADS = (".xlsx", ".csv")
SEARCH = "王"  # typed into the search fields

# Latin words the Chinese UI may show, each for a reason.
ALLOWED_WORDS = {
    # standard abbreviations a Chinese retail chain uses as they are
    "VIP",  # VIP 专员, VIP 专场: the chain's own word for its best members (GLOSSARY.md)
    "SKU",  # the product code's standard name at every Chinese retailer
    "API",  # API 密钥, API 文档: the keys and the documentation of the interface the stores' tills call
    "Excel", "CSV", "xlsx", "csv", "png",  # file formats of the imports and exports, the charts' image
    "UTF", "GBK",  # the character encodings a CSV file may be in
    "MB",  # the size limit of an upload
    "kg", "cm",  # units of the member's height and weight
    # analytics terms known by their letters: RFM 分层, ABC 分类 (classes A, B and C by spend rank), the purchase
    # models BG/NBD and Gamma-Gamma, and the service measures
    "RFM", "ABC", "BG", "NBD", "Gamma", "NPS", "CSAT",
}
# Whole text pieces that are right as they are.
ALLOWED_TEXTS = {
    "English",  # the language switcher names each language in its own language
}
# Pieces of data that are Latin by nature, as whole tokens (a token: a run of non-blank ASCII characters).
DATA_PATTERNS = [re.compile(p) for p in (
    r"[A-Z]{2}\d{2}",  # store code (SH01)
    r"[A-Z]{2}\d{2}-\d{10}",  # receipt number (store code and sequence)
    r"[A-Z]{2}-[A-Z]{3}-\d{3}",  # SKU (MA-BUS-001)
    r"[A-Z0-9]{4}-[A-Z0-9*]{4}-[A-Z0-9*]{4}",  # coupon code, whole or masked (K7M2-****-**TW)
    r"[2-9A-HJKMNP-Z]{6}",  # referral code (membercare.events.referrals.ALPHABET)
    r"SV\d{10}",  # stored-value card number (membercare.storedvalue: SV and ten digits)
    r"G[CS]\d{10}",  # gift card number and gift card sale number (membercare.storedvalue.giftcards)
    r"[2-9A-HJKMNP-Z*]{4}(-[2-9A-HJKMNP-Z*]{4}){3}",  # gift card code, whole or masked (****-****-****-K7M2)
    r"X{0,3}[SML]",  # clothing size
    r"[\w.+-]+@[\w-]+(\.[\w-]+)+",  # e-mail address
    r"wxid_[a-z0-9]+|[a-z]+_\d+",  # WeChat ID (the demo's: wxid_... or pinyin_digits)
    r"https?://\S+",  # URL (an invitation's link)
    r"1\d{2}\*{4}\d{4}",  # masked mobile phone
    r"\{[a-z_]+\}",  # a message template's placeholder ({store}), the syntax its editor explains in Chinese
    "SCARF|UMBRELLA|CARE-KIT|MOONCAKE",  # the demo's gift codes (membercare.demo.service.GIFTS)
)]
# Latin inside a longer piece of data, masked before the words are looked at.
DATA_IN_TEXT = [re.compile(p) for p in (
    r"Polo衫",  # a product of the demo catalogue (membercare.demo.data.CATALOGUE_ITEMS)
    r"^[\u4e00-\u9fff]+ / [a-z ]+( \*)?$",  # an import column and its two accepted headers: 手机号 / phone
    # the content checks' default words and patterns (English ones catch messages written in English)
    *(r"(?<![\w%])" + re.escape(w) + r"(?!\w)" for w in [*PROMOTION_WORDS, *NEW_PRODUCT_WORDS, *WHAT_HAPPENED]
      if re.search("[A-Za-z]", w)),
    *(re.escape(p) for rules in DEFAULTS["content_rules"].values() for r in rules for p in r.get("forbid_patterns", [])
      if re.search("[A-Za-z]", p)),
)]

TOKEN = re.compile(r"[!-~]+")  # a run of printable ASCII (Chinese characters and blanks end it)
WORD = re.compile(r"[A-Za-z]{2,}")
PUNCTUATION = "()[]<>,.;:!?\"'`·"


class _VisibleText(HTMLParser):
    """The text a user sees (or hears from a screen reader), and the links the page opens."""

    ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "data-confirm", "hx-confirm")
    BUTTON_TYPES = ("submit", "button", "reset")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[tuple[str, bool]] = []  # (url, loaded by htmx)
        self._hidden = 0  # inside <script> or <style>
        self._get_form = ""  # the action of the GET form we are in

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        a = {k: v or "" for k, v in attrs}
        for name in self.ATTRIBUTES:
            if a.get(name):
                self.texts.append(a[name])
        if tag == "input" and a.get("type", "").lower() in self.BUTTON_TYPES and a.get("value"):
            self.texts.append(a["value"])
        if tag == "form":
            self._get_form = a.get("action", "") if a.get("method", "get").lower() == "get" else ""
        if tag == "a" and a.get("href"):
            self.links.append((a["href"], False))
        if a.get("data-href"):  # a table row that opens a page
            self.links.append((a["data-href"], False))
        if a.get("hx-get") and "input" not in a.get("hx-trigger", ""):
            self.links.append((a["hx-get"], True))  # a part the page loads by itself or when opened
        elif tag == "input" and a.get("name") and (a.get("hx-get") or a.get("type") == "search" and self._get_form):
            # a search field: what it finds for a common surname
            target = a.get("hx-get") or self._get_form
            self.links.append((f"{target}{'&' if '?' in target else '?'}{a['name']}={quote(SEARCH)}",
                               bool(a.get("hx-get"))))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1
        if tag == "form":
            self._get_form = ""

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.texts.append(data)


def visible_text(html: str) -> tuple[list[str], list[tuple[str, bool]]]:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return [" ".join(t.split()) for t in parser.texts], parser.links


def english_in(text: str) -> list[str]:
    """The snippets of `text` around each Latin word that is neither allowed nor data."""
    if text in ALLOWED_TEXTS:
        return []
    masked = text
    for pattern in DATA_IN_TEXT:
        masked = pattern.sub(lambda m: " " * len(m.group()), masked)
    for token in TOKEN.finditer(masked):
        bare = token.group().strip(PUNCTUATION)
        if any(p.fullmatch(bare) for p in DATA_PATTERNS):
            continue
        if any(word not in ALLOWED_WORDS for word in WORD.findall(bare)):
            start = token.start()
            return [text if len(text) <= 80 else text[max(0, start - 30):start + 50]]
    return []


def _route(path: str) -> str | None:
    try:
        return resolve(path).view_name
    except Resolver404:
        return None


def crawl(client, seeds: list[str]) -> tuple[list[tuple[str, str]], int]:
    """(url, snippet) for each piece of English on the pages reached from the seeds, and how many pages were
    read. Links are followed from pages answered 200; the text of error pages (403, 404) is read too."""
    queue: deque[tuple[str, bool]] = deque((seed, False) for seed in seeds)
    seen: set[str] = set()
    queries: dict[str, set[str]] = {}
    paths: dict[str, set[str]] = {}
    findings = []
    pages = 0
    while queue and pages < MAX_PAGES:
        url, htmx = queue.popleft()
        url = urldefrag(url)[0]
        parts = urlsplit(url)
        path = parts.path
        if (url in seen or parts.scheme or parts.netloc or not path.startswith("/")
                or path.startswith(SKIP_PREFIXES) or path.lower().endswith(DOWNLOADS)):
            continue
        route = _route(path)
        if route is None:
            continue
        if parts.query:
            variants = queries.setdefault(path, set())
            if parts.query not in variants and len(variants) >= MAX_QUERIES_PER_PATH:
                continue
            variants.add(parts.query)
        objects = paths.setdefault(route, set())
        if path not in objects and len(objects) >= MAX_PATHS_PER_ROUTE:
            continue
        objects.add(path)
        seen.add(url)
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans", **headers)
        if response.status_code in (301, 302, 303):
            queue.append((response["Location"], False))
            continue
        if (not response.get("Content-Type", "").startswith("text/html")
                or "attachment" in response.get("Content-Disposition", "")):
            continue
        pages += 1
        texts, links = visible_text(response.content.decode())
        for text in texts:
            findings += [(url, snippet) for snippet in english_in(text)]
        if response.status_code == 200:
            queue.extend(links)
    return findings, pages


def _public_seeds() -> list[str]:
    """The pages members open from their messages (no login): an RSVP link answered and one not, a survey."""
    invitations = Invitation.objects.filter(held_out=False).order_by("pk")
    answered = invitations.exclude(rsvp="").first()
    open_ = invitations.filter(rsvp="").first()
    survey = next(m for m in (re.search(r"/s/[\w-]+/", b) for b in Message.objects.values_list("body", flat=True))
                  if m)
    return ["/login/", *(f"/rsvp/{i.token}/" for i in (answered, open_) if i), survey.group(), "/rsvp/forged/"]


def test_every_page_is_in_chinese_for_every_role(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("demo_load", members=200, seed=11, today=dt.date(2025, 6, 15), stdout=io.StringIO())
    findings: dict[str, list[str]] = {}
    read = {}
    for who in [*ROLES, "member"]:
        client.logout()
        if who == "member":
            seeds = _public_seeds()
        else:
            client.force_login(Staff.objects.get(username=who))
            seeds = ["/", "/members/0/", "/settings/api-keys/"]  # with a page not found, and one not allowed
        found, read[who] = crawl(client, seeds)
        for url, snippet in found:
            findings.setdefault(snippet, []).append(f"{who} {url}")
    assert min(read.values()) >= 4 and min(read[r] for r in ROLES) >= 40, read  # the crawl reached the pages
    report = [f"{where[0]}{f' (+{len(where) - 1} more)' if len(where) > 1 else ''}: …{snippet}…"
              for snippet, where in findings.items()]
    assert not report, f"{len(report)} English texts on Chinese pages:\n" + "\n".join(report)


def test_the_checker_flags_english_and_codes_and_passes_data():
    assert english_in("共 3 位会员 · Next page") == ["共 3 位会员 · Next page"]
    assert english_in("状态：dormant_review") and english_in("knight") and english_in("渠道：sms")
    assert not english_in("VIP 专员 · MA-BUS-001 · SH01-0000000123 · wang.fang@163.com · {store} · 舒适Polo衫×1")
    assert not english_in("手机号 / phone *") and english_in("手机号 / phone number, please")
    texts, links = visible_text('<p title="Close">关<!-- note -->闭</p><script>var x = "hello";</script>'
                                '<a href="/members/">会员</a><input type="submit" value="Save">'
                                '<form method="get" action="/find/"><input type="search" name="q"></form>')
    assert texts == ["Close", "关", "闭", "会员", "Save"]
    assert links == [("/members/", False), ("/find/?q=%E7%8E%8B", False)]
