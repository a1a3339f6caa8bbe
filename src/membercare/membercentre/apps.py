from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MemberCentreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "membercare.membercentre"
    label = "membercentre"
    verbose_name = _("Member centre")

    def ready(self) -> None:
        from membercare.members.signals import member_erased
        from membercare.sales.signals import return_posted, sale_posted

        from .wechat import on_sale

        sale_posted.connect(on_sale, dispatch_uid="membercentre.wechat.sale")
        return_posted.connect(on_sale, dispatch_uid="membercentre.wechat.return")
        member_erased.connect(_erase_sessions, dispatch_uid="membercentre.erase")


def _erase_sessions(sender, member, counts, **kwargs) -> None:
    from .models import MemberSession

    counts["member_centre_sessions_deleted"] = MemberSession.objects.filter(member_id=member.pk).delete()[0]
