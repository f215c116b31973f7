from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("decisions/new/", views.decision_new, name="decision_new"),
    path("decisions/<int:pk>/", views.decision_detail, name="decision"),
    path("decisions/<int:pk>/edit/", views.decision_edit, name="decision_edit"),
    path("decisions/<int:pk>/confirm/", views.decision_confirm, name="decision_confirm"),
    path("decisions/<int:decision_pk>/use-cases/new/", views.use_case_new, name="use_case_new"),
    path("use-cases/<int:pk>/", views.use_case_detail, name="use_case"),
    path("use-cases/<int:pk>/card/", views.use_case_card, name="use_case_card"),
    path("use-cases/<int:pk>/edit/", views.use_case_edit, name="use_case_edit"),
    path("use-cases/<int:pk>/move/", views.use_case_move, name="use_case_move"),
    path("use-cases/<int:pk>/decision/", views.use_case_state_decision, name="use_case_state_decision"),
    path("use-cases/<int:pk>/confirm/", views.use_case_confirm, name="use_case_confirm"),
    path("use-cases/<int:pk>/kpis/new/", views.kpi_new, name="kpi_new"),
    path("use-cases/<int:pk>/kpi-observations/", views.kpi_observation_new, name="kpi_observation_new"),
    path("findings/", views.findings_inbox, name="findings"),
    path("findings/<int:pk>/status/", views.finding_status, name="finding_status"),
    path("findings/<int:pk>/assign/", views.finding_assign, name="finding_assign"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("portfolio/export.csv", views.portfolio_export, name="portfolio_export"),
    path("import/", views.import_upload, name="import"),
    path("import/<int:pk>/", views.import_job, name="import_job"),
]
