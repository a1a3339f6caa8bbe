"""What the navigation may show: links only; every page checks permissions again on the server."""

from django.http import HttpRequest

from membercare.campaigns.services import can_run_campaigns, can_see_campaign_results
from membercare.care.services import can_edit_care_settings, can_manage_store_tasks
from membercare.core.permissions import can_administer, can_edit_programme, can_recompute_predictions, can_work_members
from membercare.service.permissions import can_see_reports

from .messaging.views import can_manage_messaging, can_see_outbox


def nav(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    return {"nav": {"programme": can_edit_programme(user), "administer": can_administer(user),
                    "care_tasks": can_work_members(user), "care_store": can_manage_store_tasks(user),
                    "care_settings": can_edit_care_settings(user), "messaging": can_manage_messaging(user),
                    "outbox": can_see_outbox(user), "complaints": can_work_members(user),
                    "campaigns": can_run_campaigns(user), "campaign_results": can_see_campaign_results(user),
                    "events": can_work_members(user),  # VIP events at one's stores (check-in for clerks)
                    "service_reports": can_see_reports(user), "dashboard": can_work_members(user),
                    "prediction": can_recompute_predictions(user)}}
