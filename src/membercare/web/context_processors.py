"""What the navigation may show: links only; every page checks permissions again on the server."""

from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from membercare.audiences.selectors import can_use_audiences
from membercare.campaigns.services import can_run_campaigns, can_see_campaign_results
from membercare.care.access import can_edit_care_settings, can_manage_store_tasks
from membercare.core.permissions import (
    can_administer,
    can_edit_programme,
    can_erase_members,
    can_see_stored_value_books,
    can_work_members,
)
from membercare.prediction.selectors import can_see_at_risk
from membercare.service.permissions import can_see_reports

from .messaging.views import can_manage_messaging, can_see_outbox


@dataclass
class MenuItem:
    label: str
    url: str
    active: bool


@dataclass
class MenuGroup:
    label: str
    items: list[MenuItem] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return any(i.active for i in self.items)


# the header's menus, grouped by the work they serve: (group, [(label, url name, shown when the nav key is true
# (None: always), url-name prefixes that mark the item active)])
MENU: list[tuple[Promise, list[tuple[Promise, str, str | None, tuple[str, ...]]]]] = [
    (pgettext_lazy("menu", "Counter"), [
        (_("Checkout"), "checkout", None, ("checkout", "receipt")),
        (_("Counter search"), "member_search", None, ("member_search",)),
        (_("Register member"), "member_create", None, ("member_create",)),
        (_("Card applications"), "card_applications", None, ("card_",)),
        (_("Sales upload"), "sales_upload", None, ("sales_upload",)),
        (_("Sell gift cards"), "gift_card_sell", None, ("gift_card_sell", "gift_card_detail")),
        (_("Points mall"), "service_mall", "complaints", ("service_mall",)),
    ]),
    (pgettext_lazy("menu", "Members"), [
        (_("Members"), "member_list", None, ("member_list", "member_detail", "member_edit", "member_import",
                                             "member_erase")),
        (_("Member segments"), "care_segments", "care_store", ("care_segments",)),
        (_("Staff"), "staff", None, ("staff",)),
        (_("Join posters"), "m_posters", None, ("m_poster",)),
    ]),
    (pgettext_lazy("menu", "Care"), [
        (_("My care tasks"), "care_tasks", "care_tasks", ("care_tasks",)),
        (_("Store tasks"), "care_store", "care_store", ("care_store",)),
        (_("Dormancy reasons"), "care_reasons", "care_store", ("care_reasons",)),
        (_("Complaints"), "service_complaints", "complaints", ("service_complaint",)),
        (_("After-sales service"), "service_orders", "complaints", ("service_order",)),
        (_("Gifts"), "service_gift_stock", "complaints", ("service_gift",)),
        (_("Surveys"), "service_survey_results", "service_reports", ("service_survey",)),
    ]),
    (pgettext_lazy("menu", "Campaigns"), [
        (_("Audiences"), "audiences", "audiences", ("audience",)),
        (_("Messages"), "messaging_templates", "messaging", ("messaging_",)),
        (_("Sent messages"), "messaging_outbox", "outbox_only", ("messaging_outbox",)),
        (_("Coupons and campaigns"), "coupon_batches", "campaigns", ("coupon_", "campaign_results")),
        (_("Campaign results"), "campaign_results", "results_only", ("campaign_results",)),
        (_("VIP events"), "event_list", "events", ("event_",)),
        (_("Gift card batches"), "gift_card_batches", "programme", ("gift_card_batch",)),
    ]),
    (pgettext_lazy("menu", "Analytics"), [
        (_("Dashboard"), "dashboard", "dashboard", ("dashboard", "analytics_")),
        (_("Stored-value books"), "stored_value_finance", "stored_value_books", ("stored_value_finance",)),
        (_("Stored-value refunds"), "stored_value_refunds", "stored_value_books", ("stored_value_refund",)),
        (_("Member value prediction"), "prediction_page", "prediction", ("prediction_",)),
        (_("Birthday audit"), "birthday_audit", "programme", ("birthday_audit",)),
    ]),
    (pgettext_lazy("menu", "Settings"), [
        (_("Loyalty programme"), "programme_edit", "programme", ("programme_",)),
        (_("Points for events"), "points_rules", "programme", ("points_rules",)),
        (_("Stored-value rules"), "stored_value_rules", "programme", ("stored_value_rules",)),
        (_("Birthday exceptions"), "birthday_exceptions", "programme", ("birthday_exception",)),
        (_("Care settings"), "care_settings", "care_settings", ("care_settings", "care_event")),
        (_("API keys"), "apikey_list", "administer", ("apikey_",)),
        (_("Data requests"), "privacy_requests", "erase", ("privacy_request",)),
    ]),
]


def menu_for(flags: dict, here: str) -> list[MenuGroup]:
    """The groups and links this user may see (flags as `nav` gives them), the current page's marked."""
    groups = []
    for label, items in MENU:
        group = MenuGroup(str(label))
        for item_label, url_name, flag, prefixes in items:
            if flag is None or flags.get(flag):
                group.items.append(MenuItem(str(item_label), reverse(url_name),
                                            bool(here) and here.startswith(prefixes)))
        if group.items:
            groups.append(group)
    return groups


def nav(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}, "menu": [], "quick_links": []}
    flags = _flags(user)
    match = getattr(request, "resolver_match", None)
    here = match.url_name if match else ""
    menu = menu_for(flags, here)
    # the counter's two most used pages also stand alone in the header, one tap away
    quick = [item for group in menu[:1] for item in group.items[:2]]
    return {"nav": flags, "menu": menu, "quick_links": quick}


def _flags(user) -> dict:
    flags = {"programme": can_edit_programme(user), "administer": can_administer(user),
             "care_tasks": can_work_members(user), "care_store": can_manage_store_tasks(user),
             "care_settings": can_edit_care_settings(user), "messaging": can_manage_messaging(user),
             "outbox": can_see_outbox(user), "complaints": can_work_members(user),
             "campaigns": can_run_campaigns(user), "campaign_results": can_see_campaign_results(user),
             "events": can_work_members(user),  # VIP events at one's stores (check-in for clerks)
             "service_reports": can_see_reports(user), "dashboard": can_work_members(user),
             "prediction": can_see_at_risk(user), "audiences": can_use_audiences(user),
             "stored_value_books": can_see_stored_value_books(user), "erase": can_erase_members(user)}
    flags["outbox_only"] = flags["outbox"] and not flags["messaging"]  # messaging's pages include the outbox
    flags["results_only"] = flags["campaign_results"] and not flags["campaigns"]
    return flags
