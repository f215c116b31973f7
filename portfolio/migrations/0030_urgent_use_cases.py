"""The use cases with an active critical or high finding or an active stall, kept by triggers in
the transaction that links a finding or changes its status or severity (portfolio/models.py
UrgentUseCase says why)."""

import django.db.models.deletion
from django.db import migrations, models

from core.triggers import kept_by_triggers

# An urgent finding (frozen here as a migration must be: portfolio.models.ACTIVE_STATUSES, and
# web.selectors' attention; a change to either comes with a migration that reinstalls these).
_URGENT = ("finding.status IN ('open', 'acknowledged') "
           "AND (finding.severity IN ('critical', 'high') OR finding.kind = 'stalled_pilot')")

# The use cases `which` picks (an SQL condition on a link's usecase_id) that have an urgent finding.
_URGENT_USE_CASES = f"""SELECT DISTINCT link.usecase_id FROM portfolio_finding_use_cases link
JOIN portfolio_finding finding ON finding.id = link.finding_id
WHERE link.usecase_id {{which}} AND {_URGENT}"""
_INSERT = "INSERT INTO portfolio_urgentusecase (use_case_id) "


def _refresh(which: str) -> str:
    return (f"DELETE FROM portfolio_urgentusecase WHERE use_case_id {which}; "
            f"{_INSERT}{_URGENT_USE_CASES.format(which=which)};")


_OF_THE_FINDING = "IN (SELECT usecase_id FROM portfolio_finding_use_cases WHERE finding_id = NEW.id)"
_CHANGED = ("OLD.status IS DISTINCT FROM NEW.status OR OLD.severity IS DISTINCT FROM NEW.severity "
            "OR OLD.kind IS DISTINCT FROM NEW.kind")

POSTGRESQL = f"""
CREATE FUNCTION portfolio_urgentusecase_refresh(touched bigint[]) RETURNS void LANGUAGE sql AS $$
    {_refresh("= ANY (touched)")}
$$;
CREATE FUNCTION portfolio_urgentusecase_on_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM portfolio_urgentusecase_refresh(ARRAY(SELECT DISTINCT usecase_id FROM new_rows));
    ELSE
        PERFORM portfolio_urgentusecase_refresh(ARRAY(SELECT DISTINCT usecase_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_urgentusecase_on_link AFTER INSERT ON portfolio_finding_use_cases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_urgentusecase_on_links();
CREATE TRIGGER portfolio_urgentusecase_on_unlink AFTER DELETE ON portfolio_finding_use_cases
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_urgentusecase_on_links();
CREATE FUNCTION portfolio_urgentusecase_empty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM portfolio_urgentusecase;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_urgentusecase_on_truncate AFTER TRUNCATE ON portfolio_finding_use_cases
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_urgentusecase_empty();
-- Row by row, on the findings whose status, severity or kind changed only: a scan's one
-- statement that dates the unchanged findings seen again names none of them and fires nothing.
CREATE FUNCTION portfolio_urgentusecase_on_finding() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_urgentusecase_refresh(ARRAY(
        SELECT usecase_id FROM portfolio_finding_use_cases WHERE finding_id = NEW.id));
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_urgentusecase_on_finding AFTER UPDATE OF status, severity, kind ON portfolio_finding
    FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION portfolio_urgentusecase_on_finding();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER portfolio_urgentusecase_on_link ON portfolio_finding_use_cases;
DROP TRIGGER portfolio_urgentusecase_on_unlink ON portfolio_finding_use_cases;
DROP TRIGGER portfolio_urgentusecase_on_truncate ON portfolio_finding_use_cases;
DROP TRIGGER portfolio_urgentusecase_on_finding ON portfolio_finding;
DROP FUNCTION portfolio_urgentusecase_on_links();
DROP FUNCTION portfolio_urgentusecase_empty();
DROP FUNCTION portfolio_urgentusecase_on_finding();
DROP FUNCTION portfolio_urgentusecase_refresh(bigint[]);
"""
SQLITE = {
    "portfolio_urgentusecase_on_link": "AFTER INSERT ON portfolio_finding_use_cases BEGIN "
                                       f"{_refresh('= NEW.usecase_id')} END",
    "portfolio_urgentusecase_on_unlink": "AFTER DELETE ON portfolio_finding_use_cases BEGIN "
                                         f"{_refresh('= OLD.usecase_id')} END",
    "portfolio_urgentusecase_on_finding": "AFTER UPDATE OF status, severity, kind ON portfolio_finding "
                                          f"WHEN {_CHANGED.replace('IS DISTINCT FROM', 'IS NOT')} BEGIN "
                                          f"{_refresh(_OF_THE_FINDING)} END",
}


class Migration(migrations.Migration):

    dependencies = [
        ('portfolio', '0029_active_finding_units'),
        ('registry', '0022_search_text_in_capitals'),
    ]

    operations = [
        migrations.CreateModel(
            name='UrgentUseCase',
            fields=[
                ('use_case', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='+', serialize=False, to='registry.usecase')),
            ],
        ),
        kept_by_triggers(fill=[_INSERT + _URGENT_USE_CASES.format(which="IS NOT NULL")], postgresql=POSTGRESQL,
                         postgresql_reverse=POSTGRESQL_REVERSE, sqlite=SQLITE),
    ]
