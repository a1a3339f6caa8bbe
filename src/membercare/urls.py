import os

from django.contrib import admin
from django.urls import include, path

from membercare.api.api import api
from membercare.core.health import ReadinessView, liveness
from membercare.core.metrics import metrics_view
from membercare.core.permissions import can_administer


def _admin_has_permission(request) -> bool:
    return request.user.is_active and can_administer(request.user)


admin.site.has_permission = _admin_has_permission  # only the administrator role uses Django admin
admin.site.site_header = "MemberCare"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", liveness),  # the process answers
    path("readyz", ReadinessView.as_view()),  # database, cache, storage, migrations: 503 when not ready
    path("metrics", metrics_view),  # Prometheus, with MEMBERCARE_METRICS_TOKEN
    path("", include("membercare.membercentre.urls")),  # /m/: the member centre; the join posters
    path("", include("membercare.web.urls")),
]

if os.environ.get("MEMBERCARE_BENCH_ENDPOINT") == "1":  # the benchmark's plain-Django reference, never in production
    from membercare.api.bench_ref import bench_ref_plain

    urlpatterns.insert(0, path("api/bench-plain/ref", bench_ref_plain))
