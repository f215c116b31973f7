"""Each active finding once per business unit it concerns, with its kind, kept by triggers in the
transaction that links it, changes its status or moves one of its use cases or decisions
(portfolio/models.py ActiveFindingUnit says why)."""

import django.db.models.deletion
from django.db import migrations, models

from core.triggers import kept_by_triggers

# The statuses of an active finding (portfolio.models.ACTIVE_STATUSES, frozen here as a
# migration must be; a change to them comes with a migration that reinstalls these triggers).
_ACTIVE = "('open', 'acknowledged')"

# The rows of the findings `which` picks (an SQL condition on finding.id): the units of an
# active finding's use cases, or of its decisions when it concerns no use case.
_UNITS = f"""SELECT finding.id, use_case.business_unit_id, finding.kind
FROM portfolio_finding finding JOIN portfolio_finding_use_cases link ON link.finding_id = finding.id
JOIN registry_usecase use_case ON use_case.id = link.usecase_id
WHERE finding.id {{which}} AND finding.status IN {_ACTIVE}
UNION
SELECT finding.id, decision.business_unit_id, finding.kind
FROM portfolio_finding finding JOIN portfolio_finding_decisions link ON link.finding_id = finding.id
JOIN registry_decision decision ON decision.id = link.decision_id
WHERE finding.id {{which}} AND finding.status IN {_ACTIVE}
AND NOT EXISTS (SELECT 1 FROM portfolio_finding_use_cases other WHERE other.finding_id = finding.id)"""
_INSERT = "INSERT INTO portfolio_activefindingunit (finding_id, business_unit_id, kind) "


def _refresh(which: str) -> str:
    return f"DELETE FROM portfolio_activefindingunit WHERE finding_id {which}; {_INSERT}{_UNITS.format(which=which)};"


POSTGRESQL = f"""
CREATE FUNCTION portfolio_activefindingunit_refresh(touched bigint[]) RETURNS void LANGUAGE sql AS $$
    {_refresh("= ANY (touched)")}
$$;
CREATE FUNCTION portfolio_activefindingunit_on_use_case_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM portfolio_activefindingunit_refresh(ARRAY(SELECT DISTINCT finding_id FROM new_rows));
    ELSE
        PERFORM portfolio_activefindingunit_refresh(ARRAY(SELECT DISTINCT finding_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_activefindingunit_on_use_case_link AFTER INSERT ON portfolio_finding_use_cases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_activefindingunit_on_use_case_links();
CREATE TRIGGER portfolio_activefindingunit_on_use_case_unlink AFTER DELETE ON portfolio_finding_use_cases
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_activefindingunit_on_use_case_links();
-- A finding's decisions count only when it concerns no use case: a scan links the use cases
-- first, so its decisions' links touch nothing there.
CREATE FUNCTION portfolio_activefindingunit_on_decision_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM portfolio_activefindingunit_refresh(ARRAY(SELECT DISTINCT finding_id FROM new_rows WHERE NOT EXISTS (
            SELECT 1 FROM portfolio_finding_use_cases link WHERE link.finding_id = new_rows.finding_id)));
    ELSE
        PERFORM portfolio_activefindingunit_refresh(ARRAY(SELECT DISTINCT finding_id FROM old_rows WHERE NOT EXISTS (
            SELECT 1 FROM portfolio_finding_use_cases link WHERE link.finding_id = old_rows.finding_id)));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_activefindingunit_on_decision_link AFTER INSERT ON portfolio_finding_decisions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_activefindingunit_on_decision_links();
CREATE TRIGGER portfolio_activefindingunit_on_decision_unlink AFTER DELETE ON portfolio_finding_decisions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_activefindingunit_on_decision_links();
CREATE FUNCTION portfolio_activefindingunit_rebuild() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM portfolio_activefindingunit;
    {_INSERT}{_UNITS.format(which="IS NOT NULL")};
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_activefindingunit_on_use_cases_truncate AFTER TRUNCATE ON portfolio_finding_use_cases
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_activefindingunit_rebuild();
CREATE TRIGGER portfolio_activefindingunit_on_decisions_truncate AFTER TRUNCATE ON portfolio_finding_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_activefindingunit_rebuild();
-- Row by row, on the findings whose status changed only: a scan's one statement that dates the
-- unchanged findings seen again does not name the status and fires nothing.
CREATE FUNCTION portfolio_activefindingunit_on_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_activefindingunit_refresh(ARRAY[NEW.id]);
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_activefindingunit_on_status AFTER UPDATE OF status, kind ON portfolio_finding
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION portfolio_activefindingunit_on_status();
-- A deleted finding's rows go with it (no foreign key holds them): Django deletes them before its
-- links, whose triggers would write them again.
CREATE FUNCTION portfolio_activefindingunit_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM portfolio_activefindingunit WHERE finding_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_activefindingunit_on_delete AFTER DELETE ON portfolio_finding
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_activefindingunit_on_delete();
CREATE FUNCTION portfolio_activefindingunit_on_use_case_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_activefindingunit_refresh(ARRAY(
        SELECT finding_id FROM portfolio_finding_use_cases WHERE usecase_id = NEW.id));
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_activefindingunit_on_use_case_move AFTER UPDATE OF business_unit_id ON registry_usecase
    FOR EACH ROW WHEN (OLD.business_unit_id IS DISTINCT FROM NEW.business_unit_id)
    EXECUTE FUNCTION portfolio_activefindingunit_on_use_case_move();
CREATE FUNCTION portfolio_activefindingunit_on_decision_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_activefindingunit_refresh(ARRAY(
        SELECT finding_id FROM portfolio_finding_decisions WHERE decision_id = NEW.id));
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_activefindingunit_on_decision_move AFTER UPDATE OF business_unit_id ON registry_decision
    FOR EACH ROW WHEN (OLD.business_unit_id IS DISTINCT FROM NEW.business_unit_id)
    EXECUTE FUNCTION portfolio_activefindingunit_on_decision_move();
"""
_PG_TRIGGERS = {
    "portfolio_activefindingunit_on_use_case_link": "portfolio_finding_use_cases",
    "portfolio_activefindingunit_on_use_case_unlink": "portfolio_finding_use_cases",
    "portfolio_activefindingunit_on_decision_link": "portfolio_finding_decisions",
    "portfolio_activefindingunit_on_decision_unlink": "portfolio_finding_decisions",
    "portfolio_activefindingunit_on_use_cases_truncate": "portfolio_finding_use_cases",
    "portfolio_activefindingunit_on_decisions_truncate": "portfolio_finding_decisions",
    "portfolio_activefindingunit_on_status": "portfolio_finding",
    "portfolio_activefindingunit_on_delete": "portfolio_finding",
    "portfolio_activefindingunit_on_use_case_move": "registry_usecase",
    "portfolio_activefindingunit_on_decision_move": "registry_decision",
}
_PG_FUNCTIONS = [
    "portfolio_activefindingunit_on_use_case_links()", "portfolio_activefindingunit_on_decision_links()",
    "portfolio_activefindingunit_rebuild()", "portfolio_activefindingunit_on_status()",
    "portfolio_activefindingunit_on_delete()", "portfolio_activefindingunit_on_use_case_move()",
    "portfolio_activefindingunit_on_decision_move()", "portfolio_activefindingunit_refresh(bigint[])",
]
POSTGRESQL_REVERSE = "".join(f"DROP TRIGGER {name} ON {table}; " for name, table in _PG_TRIGGERS.items()) + "".join(
    f"DROP FUNCTION {function}; " for function in _PG_FUNCTIONS)

_LINKED_TO_USE_CASE = "IN (SELECT finding_id FROM portfolio_finding_use_cases WHERE usecase_id = NEW.id)"
_LINKED_TO_DECISION = "IN (SELECT finding_id FROM portfolio_finding_decisions WHERE decision_id = NEW.id)"
SQLITE = {
    "portfolio_activefindingunit_on_use_case_link": "AFTER INSERT ON portfolio_finding_use_cases BEGIN "
                                                    f"{_refresh('= NEW.finding_id')} END",
    "portfolio_activefindingunit_on_use_case_unlink": "AFTER DELETE ON portfolio_finding_use_cases BEGIN "
                                                      f"{_refresh('= OLD.finding_id')} END",
    "portfolio_activefindingunit_on_decision_link": "AFTER INSERT ON portfolio_finding_decisions BEGIN "
                                                    f"{_refresh('= NEW.finding_id')} END",
    "portfolio_activefindingunit_on_decision_unlink": "AFTER DELETE ON portfolio_finding_decisions BEGIN "
                                                      f"{_refresh('= OLD.finding_id')} END",
    "portfolio_activefindingunit_on_status": "AFTER UPDATE OF status, kind ON portfolio_finding "
                                             "WHEN OLD.status IS NOT NEW.status OR OLD.kind IS NOT NEW.kind BEGIN "
                                             f"{_refresh('= NEW.id')} END",
    "portfolio_activefindingunit_on_delete": "AFTER DELETE ON portfolio_finding BEGIN "
                                             "DELETE FROM portfolio_activefindingunit WHERE finding_id = OLD.id; END",
    "portfolio_activefindingunit_on_use_case_move": "AFTER UPDATE OF business_unit_id ON registry_usecase "
                                                    "WHEN OLD.business_unit_id IS NOT NEW.business_unit_id BEGIN "
                                                    f"{_refresh(_LINKED_TO_USE_CASE)} END",
    "portfolio_activefindingunit_on_decision_move": "AFTER UPDATE OF business_unit_id ON registry_decision "
                                                    "WHEN OLD.business_unit_id IS NOT NEW.business_unit_id BEGIN "
                                                    f"{_refresh(_LINKED_TO_DECISION)} END",
}


class Migration(migrations.Migration):

    dependencies = [
        ('portfolio', '0028_opening_events_logged_once'),
        ('registry', '0022_search_text_in_capitals'),
    ]

    operations = [
        migrations.CreateModel(
            name='ActiveFindingUnit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('stalled_pilot', 'Stalled pilot'), ('duplicate_capability', 'Duplicated capability'), ('orphaned_ownership', 'Orphaned ownership'), ('broken_feedback_loop', 'Broken feedback loop'), ('missing_decision', 'Missing decision'), ('inventory_completeness', 'Inventory completeness'), ('high_impact_practices', 'High-impact practices'), ('value_not_realised', 'Value not realised'), ('lopsided_investment', 'Lopsided investment')], max_length=40)),
                ('business_unit', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='registry.businessunit')),
                ('finding', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='portfolio.finding')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('finding', 'business_unit'), name='portfolio_activefindingunit_one_per_unit')],
            },
        ),
        kept_by_triggers(fill=[_INSERT + _UNITS.format(which="IS NOT NULL")], postgresql=POSTGRESQL,
                         postgresql_reverse=POSTGRESQL_REVERSE, sqlite=SQLITE),
    ]
