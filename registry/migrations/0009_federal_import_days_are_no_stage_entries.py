# Federal use cases imported before 0008: the import day they were given as the day a stage
# began (no date in the source) becomes what it was, an unknown day, and a blank stage, imported
# as "proposed", becomes "not reported" (a transition says so; history is never rewritten).
# Re-importing the files then records each row's inventory date and links the two years.

import datetime

from django.db import migrations
from django.utils import timezone

FEDERAL = ("omb-2025", "omb-2024")
STAGE_COLUMN = {"omb-2025": "development_stage", "omb-2024": "Stage of Development"}
REASON = "a blank stage is not reported, not proposed (migration 0009)"


def _import_day_start(use_case):
    day = timezone.localdate(use_case.created_at)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def forwards(apps, schema_editor):
    UseCase = apps.get_model("registry", "UseCase")
    StageTransition = apps.get_model("registry", "StageTransition")
    now = timezone.now()
    for use_case in UseCase.objects.filter(source_format__in=FEDERAL).iterator(chunk_size=2000):
        invented = StageTransition.objects.filter(use_case=use_case, source="import", occurred_at=_import_day_start(use_case))
        invented.update(dated=False)
        fields = []
        if use_case.stage_entered_on == timezone.localdate(use_case.created_at):
            use_case.stage_entered_on = None
            fields.append("stage_entered_on")
        if use_case.stage == "proposed" and not (use_case.source_record.get(STAGE_COLUMN[use_case.source_format]) or "").strip():
            StageTransition.objects.create(use_case=use_case, from_stage="proposed", to_stage="unreported", occurred_at=now,
                                           source="import", dated=False, reason=REASON)
            use_case.stage, use_case.stage_entered_on = "unreported", None
            fields += ["stage", "stage_entered_on"]
        if fields:
            use_case.version += 1
            use_case.save(update_fields=sorted(set(fields)) + ["version"])


def backwards(apps, schema_editor):
    UseCase = apps.get_model("registry", "UseCase")
    StageTransition = apps.get_model("registry", "StageTransition")
    StageTransition.objects.filter(reason=REASON).delete()
    for use_case in UseCase.objects.filter(source_format__in=FEDERAL, stage_entered_on__isnull=True).iterator(chunk_size=2000):
        if use_case.stage == "unreported":
            use_case.stage = "proposed"
        use_case.stage_entered_on = timezone.localdate(use_case.created_at)
        use_case.save(update_fields=["stage", "stage_entered_on"])
    StageTransition.objects.filter(use_case__source_format__in=FEDERAL, source="import", dated=False).update(dated=True)


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0008_stage_not_reported_and_inventory_dates"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
