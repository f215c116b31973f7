"""The seven friction points of seeds/003 and the three role groups of CONTRACT.md."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

FRICTION_POINTS = [
    ("governance_gap", "Governance gap", "Compliance and review cycles cannot keep pace with the model lifecycle."),
    ("integration_abyss", "Integration abyss", "The hand-off from pilot to production lacks MLOps tooling, compute or engineering skills."),
    ("misaligned_value_metrics", "Misaligned value metrics", "Success is measured in model metrics, not in the P&L metric the sponsor cares about."),
    ("legacy_rigidity", "Legacy rigidity", "Monolithic systems and data architecture debt resist real-time features and inference."),
    ("skills_mismatch", "Skills mismatch", "Those who must run and trust the system cannot diagnose or adapt to it."),
    ("trust_and_workflow_friction", "Trust and workflow friction", "The output is bolted onto the workflow, or not trusted, and gets overridden."),
    ("monitoring_underinvestment", "Monitoring underinvestment", "No resources for performance monitoring, drift detection and retraining."),
]

REGISTRY_MODELS = ["businessunit", "person", "frictionpoint", "decision", "usecase", "stagetransition", "kpi", "kpiobservation"]
HISTORICAL_MODELS = ["historicalbusinessunit", "historicalperson", "historicaldecision", "historicalusecase",
                     "historicalusecase_friction_points", "historicalkpi", "historicalkpiobservation"]


def _perms(Permission, actions, models):
    codenames = [f"{action}_{model}" for action in actions for model in models]
    return list(Permission.objects.filter(content_type__app_label="registry", codename__in=codenames))


def create_friction_points_and_groups(apps, schema_editor):
    FrictionPoint = apps.get_model("registry", "FrictionPoint")
    for code, name, description in FRICTION_POINTS:
        FrictionPoint.objects.update_or_create(code=code, defaults={"name": name, "description": description})

    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    everything_viewable = _perms(Permission, ["view"], REGISTRY_MODELS + HISTORICAL_MODELS)

    auditor, _ = Group.objects.get_or_create(name="auditor")
    auditor.permissions.set(everything_viewable)

    program_office, _ = Group.objects.get_or_create(name="program_office")
    program_office.permissions.set(
        everything_viewable
        + _perms(Permission, ["add", "change"], ["businessunit", "person", "decision", "usecase", "kpi", "kpiobservation"])
        + _perms(Permission, ["delete"], ["kpiobservation"])
    )

    # Object-level limits (only what they own) are enforced by registry.access.
    business_owner, _ = Group.objects.get_or_create(name="business_owner")
    business_owner.permissions.set(
        _perms(Permission, ["view"], ["businessunit", "person", "frictionpoint", "decision", "usecase", "stagetransition", "kpi", "kpiobservation"])
        + _perms(Permission, ["add", "change"], ["decision", "usecase", "kpi", "kpiobservation"])
    )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["auditor", "program_office", "business_owner"]).delete()
    apps.get_model("registry", "FrictionPoint").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_friction_points_and_groups, remove_groups)]
