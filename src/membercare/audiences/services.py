"""Audience writes: create, update, delete a saved audience (validated; a manager only for their own stores),
and freeze the members an audience gives into a snapshot when a send or a coupon issue is made."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from membercare.org.models import Brand, Staff, Store

from .definition import DefinitionError, clean_definition, to_json
from .models import Audience, AudienceSnapshot, AudienceSnapshotMember
from .selectors import CAMPAIGN_KINDS, audience_members, can_use_audiences, is_hq, user_store_ids, visible_audiences


def _check(*, by: Staff, name: str, definition, brand: Brand | None, stores: list[Store]) -> tuple[str, dict,
                                                                                                  list[Store]]:
    if not can_use_audiences(by):
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("The name is required.")]
    elif len(name) > 100:
        errors["name"] = [_("At most 100 characters.")]
    stores = list(stores or [])
    if not is_hq(by):
        mine = set(user_store_ids(by) or [])
        if not stores:
            stores = list(Store.objects.filter(pk__in=mine))
        if not mine or any(s.pk not in mine for s in stores):
            errors["stores"] = [_("A store manager's audience covers their own stores only.")]
    try:
        clean = to_json(clean_definition(definition))
    except DefinitionError as exc:
        errors["definition"] = [message for _path, message in exc.problems]
        clean = {}
    if errors:
        raise ValidationError(errors)
    return name, clean, stores


@transaction.atomic
def audience_create(*, by: Staff, name: str, definition, brand: Brand | None = None,
                    stores: list[Store] | None = None) -> Audience:
    """A saved audience; every problem reported at once (per field; the definition's naming the condition)."""
    name, clean, stores = _check(by=by, name=name, definition=definition, brand=brand, stores=stores or [])
    now = timezone.now()
    audience = Audience.objects.create(name=name, brand=brand, definition=clean, created_by=by, created_at=now,
                                       updated_by=by, updated_at=now)
    audience.stores.set(stores)
    return audience


@transaction.atomic
def audience_update(audience: Audience, *, by: Staff, name: str, definition, brand: Brand | None = None,
                    stores: list[Store] | None = None) -> Audience:
    if not visible_audiences(by).filter(pk=audience.pk).exists():
        raise PermissionDenied
    name, clean, stores = _check(by=by, name=name, definition=definition, brand=brand, stores=stores or [])
    Audience.objects.select_for_update().filter(pk=audience.pk).first()
    audience.name, audience.brand, audience.definition = name, brand, clean
    audience.updated_by, audience.updated_at = by, timezone.now()
    audience.save()
    audience.stores.set(stores)
    return audience


@transaction.atomic
def audience_delete(audience: Audience, *, by: Staff) -> None:
    """Delete a saved audience (the sends and coupon issues that used it keep their frozen member lists)."""
    if not visible_audiences(by).filter(pk=audience.pk).exists():
        raise PermissionDenied
    from membercare.care.models import Festival

    used = list(Festival.objects.filter(audience_id=audience.pk).values_list("name", flat=True))
    if used:
        raise ValidationError({"__all__": [_("This audience is used by the festival(s) %(names)s: choose another "
                                             "audience for them first.") % {"names": "、".join(used)}]})
    audience.delete()


def audience_freeze(audience: Audience, *, by: Staff | None, campaign_kind: str = "",
                    include: list[str] | tuple[str, ...] = ()) -> AudienceSnapshot:
    """Resolve the audience now and keep its members (one INSERT … SELECT): the list a send or a coupon issue
    goes to, whatever changes afterwards. `include`: default exclusions of the campaign kind chosen explicitly."""
    if campaign_kind and campaign_kind not in CAMPAIGN_KINDS:
        raise ValidationError({"audience": [_("Unknown campaign kind.")]})
    allowed = set(CAMPAIGN_KINDS.get(campaign_kind, {}).get("excludes", []))
    include = sorted(set(include or ()) & allowed)
    with transaction.atomic():
        snapshot = AudienceSnapshot.objects.create(
            audience=audience, definition=audience.definition, campaign_kind=campaign_kind, included=include,
            created_by=by, created_at=timezone.now())
        ids = audience_members(audience, campaign_kind=campaign_kind, include=include)
        sql, params = ids.query.sql_with_params()
        table = AudienceSnapshotMember._meta.db_table
        with connection.cursor() as cur:
            cur.execute(f"INSERT INTO {table} (snapshot_id, member_id) SELECT %s, q.* FROM ({sql}) q",
                        [snapshot.pk, *params])
            snapshot.size = cur.rowcount
        snapshot.save(update_fields=["size"])
    return snapshot
