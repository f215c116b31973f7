# The missing_decision finding kind, and the AI-office mailboxes of the US federal inventory
# among the default generic mailbox patterns.

from django.db import migrations, models

OLD_DEFAULT = "info@*\nnoreply@*\nno-reply@*\ndonotreply@*\nadmin@*\nsupport@*\nhelpdesk@*\n*-team@*\nteam-*@*\nai-*@*\ndata-*@*"
FEDERAL = "\ncaio@*\n*.caio@*\n*-caio@*\ncdaio@*\nai@*\nai.questions@*\n*-ai@*\nocio@*\ndata@*\ncfa@*\nclearinghouse@*\nbimail@*\nhq-*@*"


def add_federal_mailboxes(apps, schema_editor):
    """A policy still on the old default gets the new one; an edited policy is left as edited."""
    apps.get_model("portfolio", "Policy").objects.filter(generic_mailbox_patterns=OLD_DEFAULT).update(
        generic_mailbox_patterns=OLD_DEFAULT + FEDERAL
    )


def remove_federal_mailboxes(apps, schema_editor):
    apps.get_model("portfolio", "Policy").objects.filter(generic_mailbox_patterns=OLD_DEFAULT + FEDERAL).update(
        generic_mailbox_patterns=OLD_DEFAULT
    )


class Migration(migrations.Migration):

    dependencies = [
        ('portfolio', '0004_duplicate_similarity_default'),
        ('registry', '0004_federal_inventory'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='finding',
            name='portfolio_finding_kind_valid',
        ),
        migrations.AlterField(
            model_name='finding',
            name='kind',
            field=models.CharField(choices=[('stalled_pilot', 'Stalled pilot'), ('duplicate_capability', 'Duplicated capability'), ('orphaned_ownership', 'Orphaned ownership'), ('broken_feedback_loop', 'Broken feedback loop'), ('missing_decision', 'Missing decision')], max_length=40),
        ),
        migrations.AlterField(
            model_name='historicalfinding',
            name='kind',
            field=models.CharField(choices=[('stalled_pilot', 'Stalled pilot'), ('duplicate_capability', 'Duplicated capability'), ('orphaned_ownership', 'Orphaned ownership'), ('broken_feedback_loop', 'Broken feedback loop'), ('missing_decision', 'Missing decision')], max_length=40),
        ),
        migrations.AlterField(
            model_name='historicalpolicy',
            name='generic_mailbox_patterns',
            field=models.TextField(default='info@*\nnoreply@*\nno-reply@*\ndonotreply@*\nadmin@*\nsupport@*\nhelpdesk@*\n*-team@*\nteam-*@*\nai-*@*\ndata-*@*\ncaio@*\n*.caio@*\n*-caio@*\ncdaio@*\nai@*\nai.questions@*\n*-ai@*\nocio@*\ndata@*\ncfa@*\nclearinghouse@*\nbimail@*\nhq-*@*', help_text='One shell-style pattern a line (e.g. info@*, *-team@*): owner addresses that are a mailbox, not a person.'),
        ),
        migrations.AlterField(
            model_name='policy',
            name='generic_mailbox_patterns',
            field=models.TextField(default='info@*\nnoreply@*\nno-reply@*\ndonotreply@*\nadmin@*\nsupport@*\nhelpdesk@*\n*-team@*\nteam-*@*\nai-*@*\ndata-*@*\ncaio@*\n*.caio@*\n*-caio@*\ncdaio@*\nai@*\nai.questions@*\n*-ai@*\nocio@*\ndata@*\ncfa@*\nclearinghouse@*\nbimail@*\nhq-*@*', help_text='One shell-style pattern a line (e.g. info@*, *-team@*): owner addresses that are a mailbox, not a person.'),
        ),
        migrations.AddConstraint(
            model_name='finding',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['stalled_pilot', 'duplicate_capability', 'orphaned_ownership', 'broken_feedback_loop', 'missing_decision'])), name='portfolio_finding_kind_valid'),
        ),
        migrations.RunPython(add_federal_mailboxes, remove_federal_mailboxes),
    ]
