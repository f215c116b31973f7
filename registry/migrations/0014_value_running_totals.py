"""Running totals for "Where value leaks": investment per unit and layer, and each KPI's latest
observation, kept by triggers in the transaction of every write (registry/models.py says why)."""

import django.db.models.deletion
from django.db import migrations, models

from core.triggers import kept_by_triggers

# PostgreSQL: statement-level triggers with transition tables, so that a bulk write (an import,
# the demo's COPY) updates each total once. Investment totals move by deltas (a unit's total is
# too big to re-add on each write); a KPI's latest observation is re-read from its observations.
POSTGRESQL = """
CREATE FUNCTION registry_investmenttotal_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        -- Locked in one order first, so that two writers never wait on each other crosswise.
        PERFORM 1 FROM registry_investmenttotal t
            WHERE (t.business_unit_id, t.layer) IN (SELECT u.business_unit_id, o.layer FROM old_rows o
                                                    JOIN registry_usecase u ON u.id = o.use_case_id)
            ORDER BY t.business_unit_id, t.layer FOR UPDATE;
        UPDATE registry_investmenttotal t SET planned = t.planned - d.planned, spent = t.spent - d.spent
            FROM (SELECT u.business_unit_id, o.layer, SUM(o.planned) AS planned, SUM(o.spent) AS spent
                  FROM old_rows o JOIN registry_usecase u ON u.id = o.use_case_id GROUP BY 1, 2) d
            WHERE t.business_unit_id = d.business_unit_id AND t.layer = d.layer;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO registry_investmenttotal (business_unit_id, layer, planned, spent)
            SELECT u.business_unit_id, n.layer, SUM(n.planned), SUM(n.spent)
            FROM new_rows n JOIN registry_usecase u ON u.id = n.use_case_id GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (business_unit_id, layer) DO UPDATE
            SET planned = registry_investmenttotal.planned + EXCLUDED.planned,
                spent = registry_investmenttotal.spent + EXCLUDED.spent;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER registry_investmenttotal_on_insert AFTER INSERT ON registry_investment
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_investmenttotal_apply();
CREATE TRIGGER registry_investmenttotal_on_update AFTER UPDATE ON registry_investment
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_investmenttotal_apply();
CREATE TRIGGER registry_investmenttotal_on_delete AFTER DELETE ON registry_investment
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_investmenttotal_apply();
CREATE FUNCTION registry_investmenttotal_empty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM registry_investmenttotal;
    RETURN NULL;
END $$;
CREATE TRIGGER registry_investmenttotal_on_truncate AFTER TRUNCATE ON registry_investment
    FOR EACH STATEMENT EXECUTE FUNCTION registry_investmenttotal_empty();

-- A use case moved to another unit takes its investment with it.
CREATE FUNCTION registry_investmenttotal_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE registry_investmenttotal t SET planned = t.planned - d.planned, spent = t.spent - d.spent
        FROM (SELECT layer, SUM(planned) AS planned, SUM(spent) AS spent FROM registry_investment
              WHERE use_case_id = NEW.id GROUP BY layer) d
        WHERE t.business_unit_id = OLD.business_unit_id AND t.layer = d.layer;
    INSERT INTO registry_investmenttotal (business_unit_id, layer, planned, spent)
        SELECT NEW.business_unit_id, layer, SUM(planned), SUM(spent) FROM registry_investment
        WHERE use_case_id = NEW.id GROUP BY layer ORDER BY layer
        ON CONFLICT (business_unit_id, layer) DO UPDATE
        SET planned = registry_investmenttotal.planned + EXCLUDED.planned,
            spent = registry_investmenttotal.spent + EXCLUDED.spent;
    RETURN NULL;
END $$;
CREATE TRIGGER registry_investmenttotal_on_move AFTER UPDATE OF business_unit_id ON registry_usecase
    FOR EACH ROW WHEN (OLD.business_unit_id IS DISTINCT FROM NEW.business_unit_id)
    EXECUTE FUNCTION registry_investmenttotal_move();

CREATE FUNCTION registry_kpilatestobservation_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT kpi_id) INTO touched FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT kpi_id) INTO touched FROM old_rows;
    ELSE
        SELECT array_agg(DISTINCT kpi_id) INTO touched FROM (SELECT kpi_id FROM new_rows UNION SELECT kpi_id FROM old_rows) k;
    END IF;
    -- Two writers observing one KPI take turns, so the second reads the first's observation.
    PERFORM 1 FROM registry_kpi WHERE id = ANY (touched) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM registry_kpilatestobservation l WHERE l.kpi_id = ANY (touched)
        AND NOT EXISTS (SELECT 1 FROM registry_kpiobservation o WHERE o.kpi_id = l.kpi_id);
    INSERT INTO registry_kpilatestobservation (kpi_id, observed_on, value)
        SELECT DISTINCT ON (kpi_id) kpi_id, observed_on, value FROM registry_kpiobservation
        WHERE kpi_id = ANY (touched) ORDER BY kpi_id, observed_on DESC
        ON CONFLICT (kpi_id) DO UPDATE SET observed_on = EXCLUDED.observed_on, value = EXCLUDED.value;
    RETURN NULL;
END $$;
CREATE TRIGGER registry_kpilatestobservation_on_insert AFTER INSERT ON registry_kpiobservation
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_kpilatestobservation_refresh();
CREATE TRIGGER registry_kpilatestobservation_on_update AFTER UPDATE ON registry_kpiobservation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION registry_kpilatestobservation_refresh();
CREATE TRIGGER registry_kpilatestobservation_on_delete AFTER DELETE ON registry_kpiobservation
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_kpilatestobservation_refresh();
CREATE FUNCTION registry_kpilatestobservation_empty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM registry_kpilatestobservation;
    RETURN NULL;
END $$;
CREATE TRIGGER registry_kpilatestobservation_on_truncate AFTER TRUNCATE ON registry_kpiobservation
    FOR EACH STATEMENT EXECUTE FUNCTION registry_kpilatestobservation_empty();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER registry_investmenttotal_on_insert ON registry_investment;
DROP TRIGGER registry_investmenttotal_on_update ON registry_investment;
DROP TRIGGER registry_investmenttotal_on_delete ON registry_investment;
DROP TRIGGER registry_investmenttotal_on_truncate ON registry_investment;
DROP TRIGGER registry_investmenttotal_on_move ON registry_usecase;
DROP TRIGGER registry_kpilatestobservation_on_insert ON registry_kpiobservation;
DROP TRIGGER registry_kpilatestobservation_on_update ON registry_kpiobservation;
DROP TRIGGER registry_kpilatestobservation_on_delete ON registry_kpiobservation;
DROP TRIGGER registry_kpilatestobservation_on_truncate ON registry_kpiobservation;
DROP FUNCTION registry_investmenttotal_apply();
DROP FUNCTION registry_investmenttotal_empty();
DROP FUNCTION registry_investmenttotal_move();
DROP FUNCTION registry_kpilatestobservation_refresh();
DROP FUNCTION registry_kpilatestobservation_empty();
"""

# SQLite (the zero-setup start) has row triggers only: the same rules, a row at a time.
_SQLITE_ADD = """INSERT INTO registry_investmenttotal (business_unit_id, layer, planned, spent)
        SELECT business_unit_id, NEW.layer, NEW.planned, NEW.spent FROM registry_usecase WHERE id = NEW.use_case_id
        ON CONFLICT (business_unit_id, layer) DO UPDATE
        SET planned = planned + excluded.planned, spent = spent + excluded.spent;"""
_SQLITE_SUBTRACT = """UPDATE registry_investmenttotal SET planned = planned - OLD.planned, spent = spent - OLD.spent
        WHERE layer = OLD.layer
        AND business_unit_id = (SELECT business_unit_id FROM registry_usecase WHERE id = OLD.use_case_id);"""
_SQLITE_LATEST = """DELETE FROM registry_kpilatestobservation WHERE kpi_id = {row}.kpi_id;
    INSERT INTO registry_kpilatestobservation (kpi_id, observed_on, value)
        SELECT kpi_id, observed_on, value FROM registry_kpiobservation WHERE kpi_id = {row}.kpi_id
        ORDER BY observed_on DESC LIMIT 1;"""
SQLITE = {
    "registry_investmenttotal_on_insert": f"AFTER INSERT ON registry_investment BEGIN {_SQLITE_ADD} END",
    "registry_investmenttotal_on_update": f"AFTER UPDATE ON registry_investment BEGIN {_SQLITE_SUBTRACT} "
    f"{_SQLITE_ADD} END",
    "registry_investmenttotal_on_delete": f"AFTER DELETE ON registry_investment BEGIN {_SQLITE_SUBTRACT} END",
    "registry_investmenttotal_on_move": """AFTER UPDATE OF business_unit_id ON registry_usecase
    WHEN OLD.business_unit_id IS NOT NEW.business_unit_id BEGIN
    UPDATE registry_investmenttotal SET
        planned = planned - (SELECT SUM(i.planned) FROM registry_investment i WHERE i.use_case_id = NEW.id AND i.layer = registry_investmenttotal.layer),
        spent = spent - (SELECT SUM(i.spent) FROM registry_investment i WHERE i.use_case_id = NEW.id AND i.layer = registry_investmenttotal.layer)
        WHERE business_unit_id = OLD.business_unit_id
        AND layer IN (SELECT layer FROM registry_investment WHERE use_case_id = NEW.id);
    INSERT INTO registry_investmenttotal (business_unit_id, layer, planned, spent)
        SELECT NEW.business_unit_id, layer, SUM(planned), SUM(spent) FROM registry_investment
        WHERE use_case_id = NEW.id GROUP BY layer
        ON CONFLICT (business_unit_id, layer) DO UPDATE
        SET planned = planned + excluded.planned, spent = spent + excluded.spent;
    END""",
    "registry_kpilatestobservation_on_insert": f"AFTER INSERT ON registry_kpiobservation BEGIN "
    f"{_SQLITE_LATEST.format(row='NEW')} END",
    "registry_kpilatestobservation_on_update": f"AFTER UPDATE ON registry_kpiobservation BEGIN "
    f"{_SQLITE_LATEST.format(row='OLD')} {_SQLITE_LATEST.format(row='NEW')} END",
    "registry_kpilatestobservation_on_delete": f"AFTER DELETE ON registry_kpiobservation BEGIN "
    f"{_SQLITE_LATEST.format(row='OLD')} END",
}

# The totals of what is already there.
FILL = [
    """INSERT INTO registry_investmenttotal (business_unit_id, layer, planned, spent)
    SELECT u.business_unit_id, i.layer, SUM(i.planned), SUM(i.spent) FROM registry_investment i
    JOIN registry_usecase u ON u.id = i.use_case_id GROUP BY u.business_unit_id, i.layer""",
    """INSERT INTO registry_kpilatestobservation (kpi_id, observed_on, value)
    SELECT o.kpi_id, o.observed_on, o.value FROM registry_kpiobservation o
    WHERE NOT EXISTS (SELECT 1 FROM registry_kpiobservation later
                      WHERE later.kpi_id = o.kpi_id AND later.observed_on > o.observed_on)""",
]


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0013_kpi_value_per_unit'),
    ]

    operations = [
        migrations.CreateModel(
            name='KPILatestObservation',
            fields=[
                ('kpi', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='latest_observation', serialize=False, to='registry.kpi')),
                ('observed_on', models.DateField()),
                ('value', models.DecimalField(decimal_places=4, max_digits=18)),
            ],
        ),
        migrations.CreateModel(
            name='InvestmentTotal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('layer', models.CharField(choices=[('data', 'Data'), ('infrastructure', 'Infrastructure'), ('model', 'Model'), ('orchestration', 'Orchestration'), ('inference', 'Inference')], max_length=20)),
                ('planned', models.DecimalField(decimal_places=2, default=0, max_digits=20)),
                ('spent', models.DecimalField(decimal_places=2, default=0, max_digits=20)),
                ('business_unit', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='registry.businessunit')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('business_unit', 'layer'), name='registry_investmenttotal_one_per_unit_and_layer')],
            },
        ),
        kept_by_triggers(fill=FILL, postgresql=POSTGRESQL, postgresql_reverse=POSTGRESQL_REVERSE, sqlite=SQLITE),
    ]
