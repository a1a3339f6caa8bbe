"""Messaging settings pages (the VIP specialist and the admin): the content rules per category, marketing
categories, quiet hours, the weekly limit and the SMS price, with a "test a text" box (htmx) that checks a sample
against the rules as typed; and the history of versions (who, when, note, old -> new). Thin: every check is
messaging.services.messaging_config_save's."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from membercare.core.permissions import require
from membercare.messaging.config import messaging_config
from membercare.messaging.content import content_violations
from membercare.messaging.models import Category, MessagingSettings
from membercare.messaging.services import (
    SETTINGS_NOTE_KEY,
    messaging_config_history,
    messaging_config_save,
    regex_problem,
)

from .settings_forms import (
    MessagingSettingsForm,
    SampleTextForm,
    list_delta,
    setting_label,
    setting_value,
    split_lines,
)
from .views import _htmx_response, can_manage_messaging


def _latest_pk() -> int | None:
    return MessagingSettings.objects.order_by("-created_at", "-pk").values_list("pk", flat=True).first()


def _config() -> dict:
    config = messaging_config()
    config.pop(SETTINGS_NOTE_KEY, None)
    return config


def messaging_settings_page(request: HttpRequest) -> HttpResponse:
    """/messaging/settings/: the editor. "Add a rule" posts the form back with one more empty rule (nothing is
    saved); "Save" writes a new version or shows every refusal next to what was typed."""
    require(can_manage_messaging(request.user))
    config, base_pk = _config(), _latest_pk()
    if request.method == "POST":
        add_to = request.POST.get("add", "")
        form = MessagingSettingsForm(request.POST, config=config, add_rule_to=add_to)
        if add_to in Category.values:
            pass  # only the new empty rule row
        elif form.is_valid():
            if form.cleaned_data.get("base_version") != base_pk:
                form.add_error(None, _("Someone saved other messaging settings meanwhile. The form shows what you "
                                       "typed: check it against the history and save again."))
                data = request.POST.copy()
                data["base_version"] = str(base_pk or "")
                errors = form.non_field_errors()
                form = MessagingSettingsForm(data, config=config)
                form.is_valid()
                for error in errors:
                    form.add_error(None, error)
            else:
                try:
                    messaging_config_save(form.params(), request.user, note=form.cleaned_data["note"])
                except ValidationError as exc:
                    form.add_service_errors(exc)
                else:
                    messages.success(request, _("The messaging settings were saved; templates and sends are "
                                                "checked with them from now on."))
                    return redirect("messaging_settings_history")
    else:
        form = MessagingSettingsForm(config=config, base_version=base_pk)
    return render(request, "web/messaging/settings.html", {
        "form": form, "sample_form": SampleTextForm(initial={"test_category": Category.BIRTHDAY}),
        "added": request.POST.get("add", "") if request.method == "POST" else ""})


def sample_check(data, config: dict) -> dict:
    """The rules of the chosen category as typed in the editor, and which of them the sample text breaks."""
    form = MessagingSettingsForm(data, config=config)
    sample = SampleTextForm(data)
    category = data.get("test_category") if data.get("test_category") in Category.values else Category.BIRTHDAY
    text = data.get("test_text") or ""
    rules = form.content_rules()
    broken_patterns = [problem for row in form.rules[category] if not row.remove
                       for pattern in split_lines(row.forbid_patterns) if (problem := regex_problem(pattern))]
    violations = content_violations(category, text, {"content_rules": rules}) if text.strip() else []
    return {"sample": sample, "category": Category(category).label, "text": text, "violations": violations,
            "rule_count": len(rules[category]), "broken_patterns": broken_patterns}


@require_POST
def messaging_settings_test_partial(request: HttpRequest) -> HttpResponse:
    """htmx: which rules a sample text breaks, against the rules as typed above (nothing is saved)."""
    require(can_manage_messaging(request.user))
    return _htmx_response(render(request, "web/messaging/_settings_test.html",
                                 {"check": sample_check(request.POST, _config())}))


def messaging_settings_history_page(request: HttpRequest) -> HttpResponse:
    """/messaging/settings/history/: every version, newest first: who, when, the note, what changed old -> new."""
    require(can_manage_messaging(request.user))
    entries = []
    for entry in messaging_config_history():
        rows = []
        for path, old, new in entry.changes:
            added, removed = list_delta(old, new)
            rows.append({"label": setting_label(path), "old": setting_value(path, old),
                         "new": setting_value(path, new), "added": added, "removed": removed})
        entries.append((entry.version, entry.note, rows))
    return render(request, "web/messaging/settings_history.html", {"entries": entries})
