"""Give the role groups their portfolio permissions (the groups come from registry 0002)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ["finding", "findingevent", "scanrun", "policy"]
HISTORICAL = ["historicalfinding", "historicalpolicy"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(actions, models):
        codenames = [f"{action}_{model}" for action in actions for model in models]
        return Permission.objects.filter(content_type__app_label="portfolio", codename__in=codenames)

    Group.objects.get(name="auditor").permissions.add(*perms(["view"], MODELS + HISTORICAL))
    Group.objects.get(name="program_office").permissions.add(
        *perms(["view"], MODELS + HISTORICAL), *perms(["change"], ["finding", "policy"]), *perms(["add"], ["scanrun"])
    )
    # Business owners answer findings on what they own (object checks in the services).
    Group.objects.get(name="business_owner").permissions.add(*perms(["view"], ["finding", "findingevent"]))


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=["auditor", "program_office", "business_owner"]):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="portfolio"))


class Migration(migrations.Migration):
    dependencies = [("portfolio", "0001_initial"), ("registry", "0002_friction_points_and_role_groups")]

    operations = [migrations.RunPython(grant, revoke)]
