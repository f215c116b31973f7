"""The Chief AI Officer and approver role groups, the new models' permissions for every role
group, and the EU AI Act obligations with the dates they apply from (Art. 113 of Regulation
(EU) 2024/1689 as published; the program office edits them when they move)."""

import datetime

from django.contrib.auth.management import create_permissions
from django.db import migrations

NEW_MODELS = ["ombdetermination", "practicerecord", "waiver", "euclassification", "euobligation", "signoff"]
NEW_HISTORICAL = ["historicalombdetermination", "historicalpracticerecord", "historicalwaiver",
                  "historicaleuclassification", "historicaleuobligation"]
REGISTRY_MODELS = ["businessunit", "person", "frictionpoint", "decision", "usecase", "stagetransition", "kpi",
                   "kpiobservation", "historicalbusinessunit", "historicalperson", "historicaldecision",
                   "historicalusecase", "historicalusecase_friction_points", "historicalkpi",
                   "historicalkpiobservation"]

ALL_ROLES = ["provider", "deployer", "importer", "distributor", "product_manufacturer", "authorised_representative"]
ALL_CLASSES = ["prohibited", "high_risk_annex_i", "high_risk_annex_iii", "annex_iii_not_significant",
               "transparency", "minimal"]
HIGH_RISK_PROVIDER = "Risk management, data governance, technical documentation, logging, human oversight, accuracy; conformity assessment and registration"
HIGH_RISK_DEPLOYER = "Use as instructed, human oversight, monitoring, keeping logs, informing workers and affected people"
OBLIGATIONS = [
    ("ai_literacy", "AI literacy of staff", "Art. 4", ["provider", "deployer"], ALL_CLASSES, "2025-02-02"),
    ("prohibited_practice", "Stop: prohibited AI practice", "Art. 5", ALL_ROLES, ["prohibited"], "2025-02-02"),
    ("high_risk_provider_annex_iii", HIGH_RISK_PROVIDER, "Arts. 8–17, 43, 49",
     ["provider", "product_manufacturer", "authorised_representative"], ["high_risk_annex_iii"], "2026-08-02"),
    ("high_risk_provider_annex_i", HIGH_RISK_PROVIDER, "Arts. 8–17, 43, 49",
     ["provider", "product_manufacturer", "authorised_representative"], ["high_risk_annex_i"], "2027-08-02"),
    ("high_risk_deployer_annex_iii", HIGH_RISK_DEPLOYER, "Art. 26", ["deployer"], ["high_risk_annex_iii"], "2026-08-02"),
    ("high_risk_deployer_annex_i", HIGH_RISK_DEPLOYER, "Art. 26", ["deployer"], ["high_risk_annex_i"], "2027-08-02"),
    ("fundamental_rights_impact_assessment", "Fundamental rights impact assessment", "Art. 27", ["deployer"],
     ["high_risk_annex_iii"], "2026-08-02"),
    ("importer_distributor_checks", "Check conformity marking and documentation before placing on the market",
     "Arts. 23–24", ["importer", "distributor"], ["high_risk_annex_iii"], "2026-08-02"),
    ("derogation_documented", "Document the Art. 6(3) assessment and register the system", "Arts. 6(4), 49(2)",
     ["provider"], ["annex_iii_not_significant"], "2026-08-02"),
    ("transparency_provider", "Tell people they interact with AI; mark synthetic content", "Art. 50(1)–(2)",
     ["provider"], ["transparency"], "2026-08-02"),
    ("transparency_deployer", "Disclose emotion recognition, biometric categorisation and deep fakes", "Art. 50(3)–(4)",
     ["deployer"], ["transparency"], "2026-08-02"),
]


def _perms(Permission, actions, models):
    codenames = [f"{action}_{model}" for action in actions for model in models]
    return list(Permission.objects.filter(content_type__app_label="registry", codename__in=codenames))


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    view_new = _perms(Permission, ["view"], NEW_MODELS + NEW_HISTORICAL)
    for name in ("auditor", "program_office", "business_owner"):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*view_new)
    Group.objects.get(name="program_office").permissions.add(
        *_perms(Permission, ["change"], ["euobligation"]), *_perms(Permission, ["add"], ["signoff"]))
    # The two new roles read the registry as everyone does; what they may write, registry.access says.
    for name in ("chief_ai_officer", "approver"):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(_perms(Permission, ["view"], REGISTRY_MODELS + NEW_MODELS + NEW_HISTORICAL)
                              + _perms(Permission, ["add"], ["signoff"] if name == "approver" else []))

    EUObligation = apps.get_model("registry", "EUObligation")
    for code, title, article, roles, classes, applies_from in OBLIGATIONS:
        EUObligation.objects.update_or_create(code=code, defaults={
            "title": title, "article": article, "roles": roles, "risk_classes": classes,
            "applies_from": datetime.date.fromisoformat(applies_from)})


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["chief_ai_officer", "approver"]).delete()
    apps.get_model("registry", "EUObligation").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0010_determinations_and_sign_offs")]

    operations = [migrations.RunPython(forwards, backwards)]
