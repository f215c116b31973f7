"""Each priced finding's price split among its units, kept by triggers in the transaction that
links, reprices or moves (portfolio/models.py FindingUnitShare says why)."""

import django.db.models.deletion
from django.db import migrations, models

from core.triggers import kept_by_triggers

# A finding's shares, for the findings `which` picks (an SQL condition on link.finding_id): each
# unit of its use cases once, the price in cents split evenly, half to even as Decimal.quantize.
_SHARES = """SELECT finding_id, unit_id, {money}
FROM (SELECT pair.*, COUNT(*) OVER (PARTITION BY pair.finding_id) AS units
      FROM (SELECT DISTINCT link.finding_id, CAST(ROUND(finding.price * 100) AS BIGINT) AS cents,
                   use_case.business_unit_id AS unit_id
            FROM portfolio_finding_use_cases link JOIN portfolio_finding finding ON finding.id = link.finding_id
            JOIN registry_usecase use_case ON use_case.id = link.usecase_id
            WHERE link.finding_id {which} AND finding.price IS NOT NULL) pair) shares WHERE true"""
_CENTS = """CASE WHEN cents < 0 THEN -1 ELSE 1 END * (ABS(cents) / units + CASE
    WHEN 2 * (ABS(cents) % units) > units THEN 1
    WHEN 2 * (ABS(cents) % units) = units THEN (ABS(cents) / units) % 2
    ELSE 0 END)"""
_INSERT = "INSERT INTO portfolio_findingunitshare (finding_id, business_unit_id, share) "


def _refresh(which: str, money: str) -> str:
    return (f"DELETE FROM portfolio_findingunitshare WHERE finding_id {which}; "
            f"{_INSERT}{_SHARES.format(which=which, money=money)};")


_PG_MONEY = f"CAST({_CENTS} AS NUMERIC) / 100"
_SQLITE_MONEY = f"({_CENTS}) / 100.0"

POSTGRESQL = f"""
CREATE FUNCTION portfolio_findingunitshare_refresh(touched bigint[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM portfolio_findingunitshare WHERE finding_id = ANY (touched);
    {_INSERT}{_SHARES.format(which="= ANY (touched)", money=_PG_MONEY)}
    ON CONFLICT (finding_id, business_unit_id) DO UPDATE SET share = EXCLUDED.share;
$$;
CREATE FUNCTION portfolio_findingunitshare_on_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM portfolio_findingunitshare_refresh(ARRAY(SELECT DISTINCT finding_id FROM new_rows));
    ELSE
        PERFORM portfolio_findingunitshare_refresh(ARRAY(SELECT DISTINCT finding_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_findingunitshare_on_link AFTER INSERT ON portfolio_finding_use_cases
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_findingunitshare_on_links();
CREATE TRIGGER portfolio_findingunitshare_on_unlink AFTER DELETE ON portfolio_finding_use_cases
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION portfolio_findingunitshare_on_links();
CREATE FUNCTION portfolio_findingunitshare_empty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM portfolio_findingunitshare;
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_findingunitshare_on_truncate AFTER TRUNCATE ON portfolio_finding_use_cases
    FOR EACH STATEMENT EXECUTE FUNCTION portfolio_findingunitshare_empty();
CREATE FUNCTION portfolio_findingunitshare_on_price() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_findingunitshare_refresh(ARRAY(
        SELECT new_rows.id FROM new_rows JOIN old_rows ON old_rows.id = new_rows.id
        WHERE new_rows.price IS DISTINCT FROM old_rows.price));
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_findingunitshare_on_price AFTER UPDATE ON portfolio_finding
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION portfolio_findingunitshare_on_price();
CREATE FUNCTION portfolio_findingunitshare_on_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM portfolio_findingunitshare_refresh(ARRAY(
        SELECT finding_id FROM portfolio_finding_use_cases WHERE usecase_id = NEW.id));
    RETURN NULL;
END $$;
CREATE TRIGGER portfolio_findingunitshare_on_move AFTER UPDATE OF business_unit_id ON registry_usecase
    FOR EACH ROW WHEN (OLD.business_unit_id IS DISTINCT FROM NEW.business_unit_id)
    EXECUTE FUNCTION portfolio_findingunitshare_on_move();
"""
POSTGRESQL_REVERSE = """
DROP TRIGGER portfolio_findingunitshare_on_link ON portfolio_finding_use_cases;
DROP TRIGGER portfolio_findingunitshare_on_unlink ON portfolio_finding_use_cases;
DROP TRIGGER portfolio_findingunitshare_on_truncate ON portfolio_finding_use_cases;
DROP TRIGGER portfolio_findingunitshare_on_price ON portfolio_finding;
DROP TRIGGER portfolio_findingunitshare_on_move ON registry_usecase;
DROP FUNCTION portfolio_findingunitshare_on_links();
DROP FUNCTION portfolio_findingunitshare_empty();
DROP FUNCTION portfolio_findingunitshare_on_price();
DROP FUNCTION portfolio_findingunitshare_on_move();
DROP FUNCTION portfolio_findingunitshare_refresh(bigint[]);
"""
_LINKED_TO_MOVED = "IN (SELECT finding_id FROM portfolio_finding_use_cases WHERE usecase_id = NEW.id)"
SQLITE = {
    "portfolio_findingunitshare_on_link": "AFTER INSERT ON portfolio_finding_use_cases BEGIN "
                                          f"{_refresh('= NEW.finding_id', _SQLITE_MONEY)} END",
    "portfolio_findingunitshare_on_unlink": "AFTER DELETE ON portfolio_finding_use_cases BEGIN "
                                            f"{_refresh('= OLD.finding_id', _SQLITE_MONEY)} END",
    "portfolio_findingunitshare_on_price": "AFTER UPDATE OF price ON portfolio_finding "
                                           "WHEN OLD.price IS NOT NEW.price BEGIN "
                                           f"{_refresh('= NEW.id', _SQLITE_MONEY)} END",
    "portfolio_findingunitshare_on_move": "AFTER UPDATE OF business_unit_id ON registry_usecase "
                                          "WHEN OLD.business_unit_id IS NOT NEW.business_unit_id BEGIN "
                                          f"{_refresh(_LINKED_TO_MOVED, _SQLITE_MONEY)} END",
}


class Migration(migrations.Migration):

    dependencies = [
        ('portfolio', '0017_value_page_covering_indexes'),
        ('registry', '0015_value_page_covering_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='FindingUnitShare',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('share', models.DecimalField(decimal_places=2, max_digits=16)),
                ('business_unit', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='registry.businessunit')),
                ('finding', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='portfolio.finding')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('finding', 'business_unit'), name='portfolio_findingunitshare_one_per_unit')],
            },
        ),
        kept_by_triggers(
            fill=[_INSERT + _SHARES.format(which="IN (SELECT id FROM portfolio_finding)", money=_PG_MONEY)],
            sqlite_fill=[_INSERT + _SHARES.format(which="IN (SELECT id FROM portfolio_finding)", money=_SQLITE_MONEY)],
            postgresql=POSTGRESQL, postgresql_reverse=POSTGRESQL_REVERSE, sqlite=SQLITE),
    ]
