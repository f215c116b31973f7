from django.contrib import admin
from django.urls import include, path

from config.accounts import ThrottledPasswordResetView
from config.health import healthz, readyz

admin.site.site_header = "Last Mile"
admin.site.site_title = "Last Mile"
admin.site.index_title = "AI portfolio registry"

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's reset form, throttled per client and per address (config/accounts.py).
    path("accounts/password_reset/", ThrottledPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/", include("api.urls")),
    path("", include("web.urls")),
]
