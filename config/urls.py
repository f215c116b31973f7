from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config.health import healthz, readyz

admin.site.site_header = "Last Mile"
admin.site.site_title = "Last Mile"
admin.site.index_title = "AI portfolio registry"

urlpatterns = [
    # Until the owners' home page lands, the admin is the product's front door.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("api/", include("api.urls")),
]
