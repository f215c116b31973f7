from django.urls import path

from .views import compliance, decisions, determinations, findings, home, imports, portfolio, use_cases, value

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("decisions/new/", decisions.decision_new, name="decision_new"),
    path("decisions/<int:pk>/", decisions.decision_detail, name="decision"),
    path("decisions/<int:pk>/edit/", decisions.decision_edit, name="decision_edit"),
    path("decisions/<int:pk>/confirm/", decisions.decision_confirm, name="decision_confirm"),
    path("decisions/<int:decision_pk>/use-cases/new/", use_cases.use_case_new, name="use_case_new"),
    path("use-cases/<int:pk>/", use_cases.use_case_detail, name="use_case"),
    path("use-cases/<int:pk>/card/", use_cases.use_case_card, name="use_case_card"),
    path("use-cases/<int:pk>/edit/", use_cases.use_case_edit, name="use_case_edit"),
    path("use-cases/<int:pk>/move/", use_cases.use_case_move, name="use_case_move"),
    path("use-cases/<int:pk>/decision/", use_cases.use_case_state_decision, name="use_case_state_decision"),
    path("use-cases/<int:pk>/confirm/", use_cases.use_case_confirm, name="use_case_confirm"),
    path("use-cases/<int:pk>/kpis/new/", use_cases.kpi_new, name="kpi_new"),
    path("use-cases/<int:pk>/investments/", use_cases.investment_new, name="investment_new"),
    path("use-cases/<int:pk>/kpi-observations/", use_cases.kpi_observation_new, name="kpi_observation_new"),
    path("use-cases/<int:pk>/sign-off/", determinations.use_case_sign_off, name="use_case_sign_off"),
    path("use-cases/<int:pk>/practices/", determinations.use_case_practice, name="use_case_practice"),
    path("use-cases/<int:pk>/omb-determination/", determinations.use_case_omb_determination,
         name="use_case_omb_determination"),
    path("use-cases/<int:pk>/eu-classification/", determinations.use_case_eu_classification,
         name="use_case_eu_classification"),
    path("use-cases/<int:pk>/waivers/", determinations.use_case_waiver, name="use_case_waiver"),
    path("waivers/", determinations.waivers, name="waivers"),
    path("findings/", findings.findings_inbox, name="findings"),
    path("findings/bulk/", findings.findings_bulk, name="findings_bulk"),
    path("findings/<int:pk>/", findings.finding_detail, name="finding"),
    path("findings/<int:pk>/status/", findings.finding_status, name="finding_status"),
    path("findings/<int:pk>/assign/", findings.finding_assign, name="finding_assign"),
    path("portfolio/", portfolio.portfolio, name="portfolio"),
    path("portfolio/export.csv", portfolio.portfolio_export, name="portfolio_export"),
    path("portfolio/compliance/", compliance.compliance, name="compliance"),
    path("portfolio/compliance.csv", compliance.compliance_export, name="compliance_export"),
    path("value/", value.value, name="value"),
    path("value/export.csv", value.value_export, name="value_export"),
    path("import/", imports.import_upload, name="import"),
    path("import/<int:pk>/", imports.import_job, name="import_job"),
]
