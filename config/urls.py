from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from ops.health import healthz

admin.site.site_header = "部门整体支出绩效自评系统 · 管理"
admin.site.site_title = "绩效自评管理"
admin.site.index_title = "管理首页"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="evaluations:list", permanent=False)),
    path("accounts/", include("django.contrib.auth.urls")),
    path("evaluations/", include("evaluations.urls")),
    path("public/", include("evaluations.public_urls")),
    path("reports/", include("reports.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]

# Error pages in Chinese, in the site's layout, with a way back (ops/errors.py); CSRF_FAILURE_VIEW in settings.
handler400 = "ops.errors.bad_request"  # a form too large to read is refused saying what is too long
handler403 = "ops.errors.permission_denied"
handler404 = "ops.errors.page_not_found"
handler500 = "ops.errors.server_error"
