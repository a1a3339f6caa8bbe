"""Every date picker (<input type="date">) renders its value as YYYY-MM-DD: the browser shows nothing for any other
form, and Chinese pages format dates as 2026/12/07 by default, so a form shown again after an error lost the
date the user had picked (and a default date never appeared)."""

import ast
from pathlib import Path

import membercare

SRC = Path(membercare.__file__).parent


def _date_inputs_without_iso_format() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name != "DateInput":
                continue
            kwargs = {k.arg: k.value for k in node.keywords}
            attrs = kwargs.get("attrs")
            is_picker = isinstance(attrs, ast.Dict) and any(
                isinstance(k, ast.Constant) and k.value == "type" and isinstance(v, ast.Constant) and v.value == "date"
                for k, v in zip(attrs.keys, attrs.values, strict=True))
            fmt = kwargs.get("format")
            if is_picker and not (isinstance(fmt, ast.Constant) and fmt.value == "%Y-%m-%d"):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_every_date_picker_renders_iso_dates():
    assert _date_inputs_without_iso_format() == []


def test_an_iso_date_picker_keeps_the_value_on_a_chinese_page():
    import datetime as dt

    from django import forms
    from django.utils import translation

    with translation.override("zh-hans"):
        plain = forms.DateInput(attrs={"type": "date"}).render("d", dt.date(2026, 12, 7))
        iso = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d").render("d", dt.date(2026, 12, 7))
    assert 'value="2026-12-07"' in iso and 'value="2026-12-07"' not in plain
