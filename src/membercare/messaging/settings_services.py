"""Messaging settings writes: checking a settings tree value by value, saving a version, the history of changes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from membercare.org.models import Staff

from .config import messaging_config
from .models import Category, MessagingSettings
from .placeholders import PLACEHOLDERS, unknown_placeholders

# the note of a version is kept in its params under this key (MessagingSettings has no note column)
SETTINGS_NOTE_KEY = "_note"
_RULE_KEYS = ("rule", "forbid_words", "forbid_patterns", "require")
_LIST_KEYS = ("forbid_words", "forbid_patterns", "require")
_MAX_ENTRY = 200  # characters in one word, pattern or required text
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
# Python's regular-expression errors, said in the user's language (re.error.msg -> text)
_REGEX_REASONS = {
    "missing ), unterminated subpattern": gettext_noop("a “(” is never closed"),
    "unbalanced parenthesis": gettext_noop("a “)” has no “(” before it"),
    "unterminated character set": gettext_noop("a “[” is never closed"),
    "nothing to repeat": gettext_noop("*, + or ? has nothing before it to repeat"),
    "multiple repeat": gettext_noop("two repeats in a row (such as “**”)"),
    "bad escape": gettext_noop("an unknown escape with “\\”"),
    "bad character range": gettext_noop("a character range runs backwards (such as “z-a”)"),
    "unknown extension": gettext_noop("an unknown “(?…)” group"),
    "look-behind requires fixed-width pattern": gettext_noop("a look-behind must have a fixed length"),
    "missing group name": gettext_noop("a group name is missing"),
}


class _Errors:
    """Every problem of a settings tree, by path (content_rules.birthday.0.forbid_patterns, weekly_cap, ...)."""

    def __init__(self) -> None:
        self.by_path: dict[str, list[ValidationError]] = {}

    def add(self, path: str, code: str, message: str) -> None:
        self.by_path.setdefault(path, []).append(ValidationError(message, code=code))

    def raise_any(self) -> None:
        if self.by_path:
            raise ValidationError(self.by_path)


def regex_problem(pattern: str) -> str:
    """Why `pattern` cannot be a forbidden pattern (translated), or ""."""
    try:
        compiled = re.compile(pattern, flags=re.IGNORECASE)
    except re.error as exc:
        raw = exc.msg or str(exc)
        reason = next((_(text) for prefix, text in _REGEX_REASONS.items() if raw.startswith(prefix)), raw)
        if exc.pos is not None:
            return _("Pattern “%(pattern)s” is not a valid regular expression: %(reason)s (at character "
                     "%(pos)d).") % {"pattern": pattern, "reason": reason, "pos": exc.pos + 1}
        return _("Pattern “%(pattern)s” is not a valid regular expression: %(reason)s.") % {
            "pattern": pattern, "reason": reason}
    except (OverflowError, RecursionError, ValueError):
        return _("Pattern “%(pattern)s” is not a valid regular expression.") % {"pattern": pattern}
    if any(m.group(0) == "" for sample in ("", "示例 Sample 123。") for m in compiled.finditer(sample)):
        return _("Pattern “%(pattern)s” matches an empty text, so it would refuse every message.") % {
            "pattern": pattern}
    return ""


def _text_list(errors: _Errors, path: str, value: Any, what: str) -> list[str]:
    """A list of non-empty texts (trimmed, each once); `what` names the list in the message."""
    if not isinstance(value, list | tuple):
        errors.add(path, "not_list", _("%(what)s must be a list of texts.") % {"what": what})
        return []
    out: list[str] = []
    for n, entry in enumerate(value, start=1):
        if not isinstance(entry, str) or not entry.strip():
            errors.add(path, "empty_entry", _("%(what)s: entry %(n)d is empty; each entry must be a text.") % {
                "what": what, "n": n})
            continue
        entry = entry.strip()
        if len(entry) > _MAX_ENTRY:
            errors.add(path, "entry_too_long", _("%(what)s: “%(entry)s…” is longer than %(max)d characters.") % {
                "what": what, "entry": entry[:20], "max": _MAX_ENTRY})
        elif entry.lower() not in {e.lower() for e in out}:
            out.append(entry)
    return out


def _check_rule(errors: _Errors, path: str, rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict):
        errors.add(path, "not_rule", _("A rule must be a set of named settings."))
        return {}
    for key in sorted(set(rule) - set(_RULE_KEYS)):
        errors.add(f"{path}.{key}", "unknown_setting", _("Unknown setting “%(name)s”.") % {"name": key})
    text = rule.get("rule")
    if not isinstance(text, str) or not text.strip():
        errors.add(f"{path}.rule", "rule_text_required",
                   _("Give the rule a text: a refusal quotes it to say which rule was broken."))
        text = ""
    elif len(text.strip()) > 300:
        errors.add(f"{path}.rule", "rule_text_too_long", _("Keep the rule's text under 300 characters."))
    out: dict[str, Any] = {"rule": (text or "").strip()}
    whats = {"forbid_words": _("Forbidden words"), "forbid_patterns": _("Forbidden patterns"),
             "require": _("Required texts")}
    for key in _LIST_KEYS:
        if key in rule:
            values = _text_list(errors, f"{path}.{key}", rule[key], whats[key])
            if values:
                out[key] = values
    for pattern in out.get("forbid_patterns", []):
        problem = regex_problem(pattern)
        if problem:
            errors.add(f"{path}.forbid_patterns", "bad_pattern", problem)
    unknown = sorted({name for req in out.get("require", []) for name in unknown_placeholders(req)})
    if unknown:
        errors.add(f"{path}.require", "unknown_placeholder",
                   _("Unknown placeholders: %(names)s. Known: %(known)s.") % {
                       "names": "、".join("{" + n + "}" for n in unknown),
                       "known": "、".join("{" + n + "}" for n in PLACEHOLDERS)})
    if text and not any(out.get(key) for key in _LIST_KEYS):
        errors.add(path, "rule_without_check",
                   _("Give the rule at least one forbidden word, forbidden pattern or required text."))
    return out


def _hhmm(errors: _Errors, path: str, value: Any) -> str:
    match = _HHMM.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        errors.add(path, "not_time", _("Give the time as HH:MM, e.g. 21:00."))
        return ""
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _whole(errors: _Errors, path: str, value: Any, low: int, message: str) -> int | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = None
    if (isinstance(value, bool) or number is None or not number.is_finite()
            or number != number.to_integral_value() or number < low or number > 10**6):
        errors.add(path, "not_whole", message)
        return None
    return int(number)


def _amount(errors: _Errors, path: str, value: Any, low: Decimal = Decimal(0),
            message: str | None = None) -> str | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        number = None
    if isinstance(value, bool) or number is None or not number.is_finite() or number < low or number > 10**6:
        errors.add(path, "not_amount", message or _("Must be an amount of 0 or more, e.g. 0.045."))
        return None
    return format(number, "f")


def messaging_config_validate(params: dict[str, Any]) -> dict[str, Any]:
    """The whole messaging settings tree (config.DEFAULTS filled in) with every value checked. Raises one
    ValidationError listing every problem by path (content_rules.birthday.0.forbid_patterns, quiet_hours.start,
    weekly_cap, sms.price_per_segment, ...)."""
    from .config import DEFAULTS

    errors = _Errors()
    if not isinstance(params, dict):
        errors.add("__all__", "not_settings", _("Must be a set of named settings."))
        errors.raise_any()
    for key in sorted(set(params) - set(DEFAULTS)):
        errors.add(key, "unknown_setting", _("Unknown setting “%(name)s”.") % {"name": key})
    tree: dict[str, Any] = {}

    rules = params.get("content_rules", DEFAULTS["content_rules"])
    tree["content_rules"] = {}
    if not isinstance(rules, dict):
        errors.add("content_rules", "not_settings", _("Must be a set of named settings."))
        rules = {}
    for category in rules:
        if category not in Category.values:
            errors.add("content_rules", "unknown_category",
                       _("Unknown category “%(name)s”.") % {"name": category})
    for category in Category.values:
        checks = rules.get(category, [])
        if not isinstance(checks, list | tuple):
            errors.add(f"content_rules.{category}", "not_list", _("The rules of a category must be a list."))
            checks = []
        tree["content_rules"][category] = [_check_rule(errors, f"content_rules.{category}.{i}", rule)
                                           for i, rule in enumerate(checks)]

    marketing = params.get("marketing_categories", DEFAULTS["marketing_categories"])
    if not isinstance(marketing, list | tuple) or not all(isinstance(c, str) for c in marketing):
        errors.add("marketing_categories", "not_list", _("Choose the marketing categories from the list."))
        marketing = []
    for category in marketing:
        if category not in Category.values:
            errors.add("marketing_categories", "unknown_category",
                       _("Unknown category “%(name)s”.") % {"name": category})
    tree["marketing_categories"] = [c for c in Category.values if c in marketing]

    quiet = params.get("quiet_hours", DEFAULTS["quiet_hours"])
    quiet = quiet if isinstance(quiet, dict) else {}
    for key in sorted(set(quiet) - {"start", "end"}):
        errors.add(f"quiet_hours.{key}", "unknown_setting", _("Unknown setting “%(name)s”.") % {"name": key})
    tree["quiet_hours"] = {key: _hhmm(errors, f"quiet_hours.{key}", quiet.get(key)) for key in ("start", "end")}
    if tree["quiet_hours"]["start"] and tree["quiet_hours"]["start"] == tree["quiet_hours"]["end"]:
        errors.add("quiet_hours.end", "quiet_hours_empty",
                   _("The quiet hours cannot start and end at the same time."))

    tree["weekly_cap"] = _whole(errors, "weekly_cap", params.get("weekly_cap", DEFAULTS["weekly_cap"]), 0,
                                _("The weekly limit must be a whole number, 0 or more."))

    sms = {**DEFAULTS["sms"], **(params.get("sms") if isinstance(params.get("sms"), dict) else {})}
    for key in sorted(set(sms) - set(DEFAULTS["sms"])):
        errors.add(f"sms.{key}", "unknown_setting", _("Unknown setting “%(name)s”.") % {"name": key})
    positive = _("Must be a whole number above 0.")
    tree["sms"] = {
        "segment_chars": _whole(errors, "sms.segment_chars", sms["segment_chars"], 1, positive),
        "long_segment_chars": _whole(errors, "sms.long_segment_chars", sms["long_segment_chars"], 1, positive),
        "price_per_segment": _amount(errors, "sms.price_per_segment", sms["price_per_segment"]),
        "sign_name": sms["sign_name"].strip() if isinstance(sms["sign_name"], str) else "",
    }
    single, part = tree["sms"]["segment_chars"], tree["sms"]["long_segment_chars"]
    if single and part and part > single:
        errors.add("sms.long_segment_chars", "segment_sizes",
                   _("A part of a long message cannot hold more characters than a single message."))
    if not tree["sms"]["sign_name"]:
        errors.add("sms.sign_name", "sign_name_required",
                   _("Give the SMS signature: the name the SMS provider approved, e.g. 会员之家."))
    elif len(tree["sms"]["sign_name"]) > 20:
        errors.add("sms.sign_name", "sign_name_too_long", _("Keep the SMS signature under 20 characters."))

    for channel in ("email", "wechat"):
        given = params.get(channel, DEFAULTS[channel])
        given = given if isinstance(given, dict) else {}
        tree[channel] = {"price": _amount(errors, f"{channel}.price", given.get("price", "0"))}

    retry = {**DEFAULTS["retry"], **(params.get("retry") if isinstance(params.get("retry"), dict) else {})}
    tree["retry"] = {
        "max_attempts": _whole(errors, "retry.max_attempts", retry["max_attempts"], 1, positive),
        "backoff_seconds": _whole(errors, "retry.backoff_seconds", retry["backoff_seconds"], 0,
                                  _("Must be a whole number, 0 or more.")),
    }
    factor = _amount(errors, "retry.backoff_factor", retry["backoff_factor"], Decimal(1),
                     _("Must be a number of 1 or more."))
    tree["retry"]["backoff_factor"] = (None if factor is None else int(Decimal(factor))
                                       if Decimal(factor) == Decimal(factor).to_integral_value() else float(factor))

    times = params.get("preferred_times", DEFAULTS["preferred_times"])
    times = times if isinstance(times, dict) else {}
    tree["preferred_times"] = {}
    for slot in DEFAULTS["preferred_times"]:
        window = times.get(slot, DEFAULTS["preferred_times"][slot])
        path = f"preferred_times.{slot}"
        if not isinstance(window, list | tuple) or len(window) != 2:
            errors.add(path, "not_window", _("Give the start and the end as HH:MM."))
            tree["preferred_times"][slot] = list(DEFAULTS["preferred_times"][slot])
            continue
        start, end = _hhmm(errors, path, window[0]), _hhmm(errors, path, window[1])
        if start and end and start >= end:
            errors.add(path, "window_order", _("The time window must end after it starts."))
        tree["preferred_times"][slot] = [start, end]
    for slot in sorted(set(times) - set(DEFAULTS["preferred_times"])):
        errors.add(f"preferred_times.{slot}", "unknown_setting", _("Unknown setting “%(name)s”.") % {"name": slot})
    errors.raise_any()
    return tree


@transaction.atomic
def messaging_config_save(params: dict[str, Any], by: Staff | None, note: str = "") -> MessagingSettings:
    """A new version of the messaging settings (the whole tree, `params` merged over the settings in force),
    after checking every value; nothing is written when anything is refused. Sends read the latest version."""
    from membercare.core.permissions import can_edit_programme, require
    from membercare.core.versioned import merge

    if by is not None:
        require(can_edit_programme(by))
    note = (note or "").strip()
    current = messaging_config()
    current.pop(SETTINGS_NOTE_KEY, None)
    errors: dict[str, list] = {}
    tree: dict[str, Any] = {}
    try:
        tree = messaging_config_validate(merge(current, params) if isinstance(params, dict) else params)
    except ValidationError as exc:
        errors.update(exc.error_dict)
    if len(note) > 200:
        errors["note"] = [ValidationError(_("Keep the note under 200 characters."), code="note_too_long")]
    if errors:
        raise ValidationError(errors)
    if note:
        tree[SETTINGS_NOTE_KEY] = note
    MessagingSettings.objects.select_for_update().order_by("-created_at", "-pk").first()  # one save at a time
    return MessagingSettings.objects.create(params=tree, created_by=by, created_at=timezone.now())


@dataclass
class SettingsVersion:
    version: MessagingSettings
    note: str
    changes: list[tuple[tuple[str, ...], Any, Any]]  # (path, old, new); see messaging_settings_diff


def messaging_settings_diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[tuple[str, ...], Any, Any]]:
    """What changed between two settings trees: (path as a tuple, old, new). Content rules are matched by their
    text: ("content_rules", category, rule text, check) for a changed check, ("content_rules", category,
    rule text) for a rule added (old None) or removed (new None) with the whole rule as the value."""
    out: list[tuple[tuple[str, ...], Any, Any]] = []
    old_rules, new_rules = old.get("content_rules", {}), new.get("content_rules", {})
    for category in dict.fromkeys([*Category.values, *old_rules, *new_rules]):
        before = {r.get("rule", ""): r for r in old_rules.get(category, []) if isinstance(r, dict)}
        after = {r.get("rule", ""): r for r in new_rules.get(category, []) if isinstance(r, dict)}
        for text in dict.fromkeys([*before, *after]):
            a, b = before.get(text), after.get(text)
            if a is None or b is None:
                out.append((("content_rules", category, text), a, b))
                continue
            for key in _LIST_KEYS:
                if list(a.get(key, [])) != list(b.get(key, [])):
                    out.append((("content_rules", category, text, key), list(a.get(key, [])),
                                list(b.get(key, []))))

    def flat(tree: dict, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
        leaves: dict[tuple[str, ...], Any] = {}
        for key, value in tree.items():
            path = (*prefix, key)
            if path in (("content_rules",), (SETTINGS_NOTE_KEY,)):
                continue
            leaves.update(flat(value, path) if isinstance(value, dict) else {path: value})
        return leaves

    a, b = flat(old), flat(new)
    out += [(p, a.get(p), b.get(p)) for p in dict.fromkeys([*a, *b]) if a.get(p) != b.get(p)]
    return out


def messaging_config_history(limit: int = 100) -> list[SettingsVersion]:
    """Every saved version, newest first, with its note and what it changed from the one before."""
    from membercare.core.versioned import merge

    from .config import DEFAULTS

    entries, previous = [], DEFAULTS
    for version in MessagingSettings.objects.select_related("created_by").order_by("created_at", "pk"):
        tree = merge(DEFAULTS, version.params or {})
        note = str(tree.pop(SETTINGS_NOTE_KEY, "") or "")
        entries.append(SettingsVersion(version, note, messaging_settings_diff(previous, tree)))
        previous = tree
    return entries[::-1][:limit]
