from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from .views import audit, compliance, decisions, directory, findings, use_cases, value

app_name = "api"


@csrf_exempt
def not_found(request, *args, **kwargs):
    return JsonResponse({"detail": "Not found."}, status=404)


router = DefaultRouter()
router.register("business-units", directory.BusinessUnitViewSet, basename="business-unit")
router.register("people", directory.PersonViewSet, basename="person")
router.register("decisions", decisions.DecisionViewSet, basename="decision")
router.register("use-cases", use_cases.UseCaseViewSet, basename="use-case")
router.register("kpi-observations", use_cases.KPIObservationViewSet, basename="kpi-observation")
router.register("investments", use_cases.InvestmentViewSet, basename="investment")
router.register("stage-transitions", use_cases.StageTransitionViewSet, basename="stage-transition")
router.register("waivers", use_cases.WaiverViewSet, basename="waiver")
router.register("findings", findings.FindingViewSet, basename="finding")
router.register("scan-runs", findings.ScanRunViewSet, basename="scan-run")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("compliance/", compliance.ComplianceView.as_view(), name="compliance"),
    path("value/", value.ValueView.as_view(), name="value"),
    path("audit-log/", audit.AuditLogView.as_view(), name="audit-log"),
    path("audit-log/export/", audit.AuditExportView.as_view(), name="audit-log-export"),
    path("audit-log/head/", audit.AuditHeadView.as_view(), name="audit-log-head"),
    path("", include(router.urls)),
    # Anything else under /api/ (a malformed id, a typo) is a JSON 404, as API callers expect.
    re_path(r"^.*$", not_found),
]
