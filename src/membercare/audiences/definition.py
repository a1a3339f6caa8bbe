"""An audience definition: validation (bounded, with a message naming the condition) and compilation to a Q.

    {"include": {"op": "and", "items": [...]}, "exclude": {"op": "or", "items": [...]}}

An item is a condition {"type": <code of audiences.conditions.CONDITIONS>, "params": {...}} or a group
{"op": "and" | "or", "items": [...]}. Groups nest to depth MAX_DEPTH (the include or exclude group is depth 1),
a definition holds at most MAX_CONDITIONS conditions. An empty include group means every member (in scope); an
empty exclude group excludes nobody. Members = include AND NOT exclude.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from .conditions import CONDITIONS, ConditionType, Context, Param

MAX_DEPTH = 3
MAX_CONDITIONS = 40
MAX_JSON_CHARS = 50_000
PARTS = ("include", "exclude")


class DefinitionError(ValidationError):
    """The definition's problems: `problems` is [(path, message)], a path like "include.0.2"."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__([message for _path, message in problems])


def empty_definition() -> dict:
    return {"include": {"op": "and", "items": []}, "exclude": {"op": "or", "items": []}}


def where(path: str) -> str:
    """A path as people read it: 纳入条件 1.2 / 排除条件 3."""
    part, *rest = path.split(".")
    numbers = ".".join(str(int(i) + 1) for i in rest)
    if part == "include":
        return _("Include, condition %(n)s") % {"n": numbers} if numbers else _("Include")
    return _("Exclude, condition %(n)s") % {"n": numbers} if numbers else _("Exclude")


def _param(ctype: ConditionType, param: Param, raw: Any, problem) -> Any:
    """The parameter's typed value (None: left empty), or a problem reported."""
    empty = raw is None or raw == "" or raw == []
    if empty:
        if param.required and param.default is None:
            problem(_("“%(param)s” is required.") % {"param": param.label})
            return None
        return param.default if param.required else None
    if param.kind in ("multi", "choice"):
        values = raw if isinstance(raw, list) else [raw]
        if param.kind == "choice" and len(values) != 1:
            problem(_("Choose one value for “%(param)s”.") % {"param": param.label})
            return None
        if len(values) > param.max_items:
            problem(_("At most %(n)d values for “%(param)s”.") % {"n": param.max_items, "param": param.label})
            return None
        values = [str(v) for v in values]
        if any(len(v) > 50 for v in values):
            problem(_("A value of “%(param)s” is too long.") % {"param": param.label})
            return None
        known = {code for code, _label in param.choices()}
        unknown = [v for v in values if v not in known]
        if unknown:
            problem(_("Unknown value(s) for “%(param)s”: %(values)s.") % {
                "param": param.label, "values": "、".join(unknown[:5])})
            return None
        values = list(dict.fromkeys(values))
        return values if param.kind == "multi" else values[0]
    text = str(raw).strip()
    if len(text) > 20:
        problem(_("“%(param)s” is not a number.") % {"param": param.label})
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        problem(_("“%(param)s” is not a number.") % {"param": param.label})
        return None
    if param.kind == "int":
        if number != number.to_integral_value():
            problem(_("“%(param)s” must be a whole number.") % {"param": param.label})
            return None
        number = int(number)
    else:
        number = number.quantize(Decimal("0.01"))
    if (param.min is not None and number < param.min) or (param.max is not None and number > param.max):
        problem(_("“%(param)s” must be from %(min)s to %(max)s.") % {
            "param": param.label, "min": param.min, "max": param.max})
        return None
    return number


def _clean_condition(node: dict, path: str, problems: list) -> dict | None:
    code = node.get("type")
    ctype = CONDITIONS.get(code) if isinstance(code, str) else None
    if ctype is None:
        problems.append((path, _("%(where)s: unknown condition.") % {"where": where(path)}))
        return None
    raw = node.get("params") or {}
    if not isinstance(raw, dict):
        raw = {}
    params: dict[str, Any] = {}
    found: list[str] = []

    def problem(text: str) -> None:
        found.append(text)

    for param in ctype.params:
        params[param.name] = _param(ctype, param, raw.get(param.name), problem)
    if not found and ctype.check is not None:
        message = ctype.check(params)
        if message:
            found.append(message)
    for text in found:
        problems.append((path, _("%(where)s “%(condition)s”: %(problem)s") % {
            "where": where(path), "condition": ctype.label, "problem": text}))
    return None if found else {"type": code, "params": params}


def _clean_group(node: Any, path: str, depth: int, problems: list, counter: list[int]) -> dict | None:
    if not isinstance(node, dict):
        problems.append((path, _("%(where)s: not a group of conditions.") % {"where": where(path)}))
        return None
    op = node.get("op", "and")
    if op not in ("and", "or"):
        problems.append((path, _("%(where)s: a group combines its conditions with AND or OR.") % {
            "where": where(path)}))
        return None
    items = node.get("items") or []
    if not isinstance(items, list):
        items = []
    out = []
    for i, item in enumerate(items):
        sub = f"{path}.{i}"
        if isinstance(item, dict) and "op" in item and "type" not in item:
            if depth >= MAX_DEPTH:
                problems.append((sub, _("%(where)s: groups may be nested %(n)d levels deep at most.") % {
                    "where": where(sub), "n": MAX_DEPTH}))
                continue
            group = _clean_group(item, sub, depth + 1, problems, counter)
            if group is not None:
                out.append(group)
        elif isinstance(item, dict):
            counter[0] += 1
            if counter[0] == MAX_CONDITIONS + 1:
                problems.append((sub, _("At most %(n)d conditions in an audience.") % {"n": MAX_CONDITIONS}))
            condition = _clean_condition(item, sub, problems)
            if condition is not None:
                out.append(condition)
        else:
            problems.append((sub, _("%(where)s: unknown condition.") % {"where": where(sub)}))
    return {"op": op, "items": out}


def clean_definition(raw: Any) -> dict:
    """The definition checked and typed (numbers as int / Decimal); raises DefinitionError listing every
    problem with its path."""
    if isinstance(raw, str):
        if len(raw) > MAX_JSON_CHARS:
            raise DefinitionError([("include", _("The audience definition is too long."))])
        try:
            raw = json.loads(raw)
        except ValueError:
            raise DefinitionError([("include", _("The audience definition is not readable."))]) from None
    if not isinstance(raw, dict):
        raise DefinitionError([("include", _("The audience definition is not readable."))])
    if len(json.dumps(raw, default=str)) > MAX_JSON_CHARS:
        raise DefinitionError([("include", _("The audience definition is too long."))])
    problems: list[tuple[str, str]] = []
    counter = [0]
    clean = {}
    for part in PARTS:
        group = _clean_group(raw.get(part) or {"op": "and" if part == "include" else "or", "items": []},
                             part, 1, problems, counter)
        clean[part] = group
    if problems:
        raise DefinitionError(problems)
    return clean


def to_json(definition: dict) -> dict:
    """A clean definition as stored (Decimal as text)."""
    return json.loads(json.dumps(definition, default=str))


def condition_count(definition: dict) -> int:
    def count(node: dict) -> int:
        return sum(count(i) if "op" in i and "type" not in i else 1 for i in node.get("items", []))
    return sum(count(definition.get(part) or {}) for part in PARTS)


def _q(node: dict, ctx: Context, *, negate: bool = False) -> Q | None:
    """The group's filter; None when the group holds no condition (no constraint). `negate`: NOT the group, the
    negation pushed down to its conditions (De Morgan: NOT (a OR b) = NOT a AND NOT b). So an exclude group of
    EXISTS conditions reaches the database as NOT EXISTS terms of the WHERE's top-level AND, which PostgreSQL
    runs as (parallel) hash anti-joins; a NOT (... OR ...) around them is evaluated member by member with hashed
    subplans (issue 20: 6.6 s at 1M)."""
    parts = []
    for item in node["items"]:
        if "type" in item:
            built = CONDITIONS[item["type"]].build(item["params"], ctx)
            parts.append(~built if negate else built)
        else:
            sub = _q(item, ctx, negate=negate)
            if sub is not None:
                parts.append(sub)
    if not parts:
        return None
    out = parts[0]
    for part in parts[1:]:
        out = (out & part) if (node["op"] == "and") != negate else (out | part)
    return out


def compile_definition(definition: Any, ctx: Context) -> tuple[Q | None, Q | None]:
    """(include filter, exclude filter) of a definition (validated first); None: no constraint."""
    clean = clean_definition(definition)
    return _q(clean["include"], ctx), _q(clean["exclude"], ctx)


def compile_filters(definition: Any, ctx: Context) -> tuple[Q | None, Q | None]:
    """(include filter, keep filter) of a definition (validated first): members = include AND keep, where keep
    is NOT exclude with the negation pushed down to the conditions (_q's `negate`); None: no constraint."""
    clean = clean_definition(definition)
    return _q(clean["include"], ctx), _q(clean["exclude"], ctx, negate=True)
