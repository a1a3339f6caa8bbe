from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MemberCentreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "membercare.membercentre"
    label = "membercentre"
    verbose_name = _("Member centre")

    def ready(self) -> None:
        from membercare.sales.signals import return_posted, sale_posted

        from .wechat import on_sale

        sale_posted.connect(on_sale, dispatch_uid="membercentre.wechat.sale")
        return_posted.connect(on_sale, dispatch_uid="membercentre.wechat.return")
