from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "membercare.service"
    label = "service"
    verbose_name = _("Service")

    def ready(self) -> None:
        from django.db.models import Q
        from django.db.models.signals import post_save

        from membercare.audiences.conditions import G_CONTACT, ConditionType, register_condition
        from membercare.care.complaints import register_complaint_source
        from membercare.care.models import Contact
        from membercare.core.timeline import register_timeline_source

        from .handlers import on_contact_saved
        from .selectors import (
            complaints_on_record_expr,
            has_open_complaint_expr,
            member_complaint_events,
            member_gift_events,
            open_complaints_count,
        )

        register_timeline_source("complaint", member_complaint_events)
        register_timeline_source("gift", member_gift_events)
        register_complaint_source(open_counts=open_complaints_count, on_record_expr=complaints_on_record_expr,
                                  open_expr=has_open_complaint_expr)
        register_condition(ConditionType(  # an audience condition: the member has an open complaint
            "open_complaint", _("Open complaint"), G_CONTACT, (),
            lambda params, ctx: Q(has_open_complaint_expr("pk")), order=52))
        post_save.connect(on_contact_saved, sender=Contact, dispatch_uid="service_contact_saved")
