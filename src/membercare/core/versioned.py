"""Versioned settings: the one reader of the version in force, merged over the defaults.

The abstract model is core.models.VersionedSettings (settings kept as a JSON document, each edit a new
row). Four models follow it: loyalty.ProgrammeVersion (versions apply from a date: `effective_field`), care's
CareConfig, messaging's MessagingSettings and service's ServiceSettings (the newest row is in force). Each
keeps its own table, document field and Meta; the abstract base only carries who changed it and when, so
it changed no column.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from typing import TYPE_CHECKING, Any

from django.utils import timezone

if TYPE_CHECKING:
    from .models import VersionedSettings


def merge(base: dict, override: dict) -> dict:
    """A deep copy of `base` with `override`'s values (nested dicts merged key by key)."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def newest_first(model: type[VersionedSettings]) -> list[str]:
    """The order of `model`'s versions, the one in force first."""
    return [f"-{model.effective_field}", "-pk"] if model.effective_field else ["-created_at", "-pk"]


def latest_document(model: type[VersionedSettings], on: dt.date | None = None) -> Any:
    """The stored document of the version in force (on `on`, default today, for dated versions); None when
    nothing is stored."""
    versions = model.objects.all()
    if model.effective_field:
        versions = versions.filter(**{f"{model.effective_field}__lte": on or timezone.localdate()})
    return versions.order_by(*newest_first(model)).values_list(model.document_field, flat=True).first()


def latest_merged(model: type[VersionedSettings], defaults: dict[str, Any], on: dt.date | None = None
                  ) -> dict[str, Any]:
    """The settings in force: the latest version's document merged over `defaults` (so a setting added in a
    later release has its default until someone changes it)."""
    return merge(defaults, latest_document(model, on) or {})


@functools.cache  # built once per model: it is read on the checkout's hot path
def latest_document_sql(model: type[VersionedSettings]) -> str:
    """One hand-written statement for the document (as text) of the version in force, for hot paths that
    skip the ORM; dated versions take the day as its one parameter."""
    meta = model._meta
    document, pk = meta.get_field(model.document_field).column, meta.pk.column
    if model.effective_field:
        day = meta.get_field(model.effective_field).column
        return (f"SELECT CAST(v.{document} AS text) FROM {meta.db_table} v WHERE v.{day} <= %s "
                f"ORDER BY v.{day} DESC, v.{pk} DESC LIMIT 1")
    created = meta.get_field("created_at").column
    return f"SELECT CAST(v.{document} AS text) FROM {meta.db_table} v ORDER BY v.{created} DESC, v.{pk} DESC LIMIT 1"
