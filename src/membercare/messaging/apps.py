from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "membercare.messaging"
    label = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from membercare.care.marketing import register_marketing_source
        from membercare.core.timeline import register_timeline_source

        from .selectors import bulk_send_marketing_receipts, member_message_events

        register_timeline_source("message", member_message_events)
        from membercare.care.plans import register_plan_action

        from .winback import check_message_target, winback_message

        # care's win-back plan per dormancy reason may send the member a message template (care.plans)
        register_plan_action("message", _("Send a message template"), winback_message, check_message_target)
        register_marketing_source("bulk_sends", bulk_send_marketing_receipts)  # seed 004's marketing revenue
