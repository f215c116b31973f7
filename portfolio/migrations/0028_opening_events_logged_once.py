"""A finding's opening event is no longer an audit entry of its own: the entry of the finding's
first history row records its creation. The trigger is installed again with that condition;
entries already written stay (the chain holds them) and still verify."""

import dataclasses

from django.db import migrations

from portfolio.audit import PORTFOLIO_SOURCES
from registry import audit

_FINDING_EVENTS = next(source for source in PORTFOLIO_SOURCES if source.model == "portfolio.FindingEvent")


def _log_status_changes_only(apps, schema_editor):
    audit.install(_FINDING_EVENTS, apps=apps, schema_editor=schema_editor, backfill=False)


def _log_every_event(apps, schema_editor):
    audit.install(dataclasses.replace(_FINDING_EVENTS, logged=""), apps=apps, schema_editor=schema_editor, backfill=False)


class Migration(migrations.Migration):

    dependencies = [
        ('portfolio', '0027_active_findings_covering_index'),
    ]

    operations = [
        migrations.RunPython(_log_status_changes_only, _log_every_event),
    ]
