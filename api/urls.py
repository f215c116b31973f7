from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import views

app_name = "api"

router = DefaultRouter()
router.register("business-units", views.BusinessUnitViewSet, basename="business-unit")
router.register("people", views.PersonViewSet, basename="person")
router.register("decisions", views.DecisionViewSet, basename="decision")
router.register("use-cases", views.UseCaseViewSet, basename="use-case")
router.register("kpi-observations", views.KPIObservationViewSet, basename="kpi-observation")
router.register("stage-transitions", views.StageTransitionViewSet, basename="stage-transition")
router.register("findings", views.FindingViewSet, basename="finding")
router.register("scan-runs", views.ScanRunViewSet, basename="scan-run")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
