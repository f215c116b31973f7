# Decisions can be placeholders; use cases keep their source row and its format.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0003_decision_version'),
    ]

    operations = [
        migrations.AddField(
            model_name='decision',
            name='is_defined',
            field=models.BooleanField(default=True, editable=False, help_text="Unticked on a placeholder: an imported inventory (e.g. the US federal one) names no decision, so its use cases wait under their unit's placeholder until their owner states theirs."),
        ),
        migrations.AddField(
            model_name='historicaldecision',
            name='is_defined',
            field=models.BooleanField(default=True, editable=False, help_text="Unticked on a placeholder: an imported inventory (e.g. the US federal one) names no decision, so its use cases wait under their unit's placeholder until their owner states theirs."),
        ),
        migrations.AddField(
            model_name='historicalusecase',
            name='source_format',
            field=models.CharField(blank=True, help_text='The inventory format the use case was imported from, e.g. omb-2025.', max_length=20),
        ),
        migrations.AddField(
            model_name='historicalusecase',
            name='source_record',
            field=models.JSONField(blank=True, default=dict, editable=False, help_text='Every column of the source row as published, so nothing of the source is lost.'),
        ),
        migrations.AddField(
            model_name='usecase',
            name='source_format',
            field=models.CharField(blank=True, help_text='The inventory format the use case was imported from, e.g. omb-2025.', max_length=20),
        ),
        migrations.AddField(
            model_name='usecase',
            name='source_record',
            field=models.JSONField(blank=True, default=dict, editable=False, help_text='Every column of the source row as published, so nothing of the source is lost.'),
        ),
    ]
