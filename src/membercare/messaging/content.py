"""The playbook's content rules (DOMAIN.md "Messages"), checked when a template is saved and again when a
message is sent. The rules are data (messaging.config: content_rules per category)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .config import messaging_config
from .placeholders import PLACEHOLDER


@dataclass
class Violation:
    rule: str  # the rule's text, translated
    found: list[str] = field(default_factory=list)  # the words or passages that broke it
    missing: list[str] = field(default_factory=list)  # what a `require` check did not find

    def message(self) -> str:
        if self.found:
            return _("%(rule)s Found: %(words)s.") % {"rule": self.rule, "words": "、".join(
                f"“{w}”" for w in self.found)}
        return _("%(rule)s Missing: %(what)s.") % {"rule": self.rule, "what": "、".join(self.missing)}


def _present(required: str, text: str, values: dict | None) -> bool:
    if required in text:
        return True
    match = PLACEHOLDER.fullmatch(required)
    value = str((values or {}).get(match.group(1)) or "") if match else ""
    return bool(value) and value in text


def content_violations(category: str, text: str, config: dict | None = None,
                       values: dict | None = None) -> list[Violation]:
    """Every rule of the category that `text` breaks: a template (placeholders in braces), or a rendered
    message with the `values` it was rendered from (a required {store} is then the store's name)."""
    config = config or messaging_config()
    lowered = (text or "").lower()
    out: list[Violation] = []
    for check in config["content_rules"].get(category, []):
        found: list[str] = []
        for word in check.get("forbid_words", []):
            if word and word.lower() in lowered and word not in found:
                found.append(word)
        for pattern in check.get("forbid_patterns", []):
            try:
                found += [m.group(0) for m in re.finditer(pattern, text or "", flags=re.IGNORECASE)]
            except re.error:
                continue  # a broken pattern is refused when the settings are saved; never fail a send
        missing = [req for req in check.get("require", []) if not _present(req, text or "", values)]
        if found or missing:
            out.append(Violation(_(check["rule"]), found, missing))
    return out


def content_check(category: str, text: str, *, field_name: str = "body", config: dict | None = None,
                  values: dict | None = None) -> None:
    """Raise a ValidationError on `field_name` listing every broken rule and the words that broke it."""
    violations = content_violations(category, text, config, values)
    if violations:
        raise ValidationError({field_name: [v.message() for v in violations]}, code="content_rule")
