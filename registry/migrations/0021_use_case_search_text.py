"""Each use case's searched text in one row (registry.models.UseCaseSearchText says why), kept by
triggers on the use cases and on the decisions, people and units whose words it holds, and a
trigram index on its UPPER(document), which Django's `icontains` compares."""

import django.db.models.deletion
from django.db import migrations, models

# The fields in SEARCH_FIELDS' order, one a line: a word never spans two fields.
_DOCUMENT = """
    SELECT u.id AS use_case_id, {fields} AS document
    FROM registry_usecase u
    LEFT JOIN registry_decision d ON d.id = u.decision_id
    LEFT JOIN registry_businessunit unit ON unit.id = u.business_unit_id
    LEFT JOIN registry_person business ON business.id = u.business_owner_id
    LEFT JOIN registry_person technical ON technical.id = u.technical_owner_id
    LEFT JOIN registry_person decider ON decider.id = d.owner_id"""
_FIELDS = ["u.title", "u.external_id", "u.summary", "u.capability", "d.statement", "unit.name", "business.name",
           "business.email", "technical.name", "technical.email", "decider.name", "decider.email"]


def _document(newline: str) -> str:
    return _DOCUMENT.format(fields=f" || {newline} || ".join(f"COALESCE({field}, '')" for field in _FIELDS))


POSTGRESQL_DOCUMENT = _document("chr(10)")
SQLITE_DOCUMENT = _document("char(10)")

# PostgreSQL: statement-level triggers over transition tables, so that a bulk write (an import,
# the demo's COPY) writes every document in one statement. A write that changes no searched
# column writes nothing.
POSTGRESQL = f"""
CREATE VIEW registry_usecasesearch_source AS {POSTGRESQL_DOCUMENT};

CREATE FUNCTION registry_usecasesearch_write(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO registry_usecasesearchtext (use_case_id, document)
        SELECT use_case_id, document FROM registry_usecasesearch_source WHERE use_case_id = ANY (ids)
        ORDER BY use_case_id
        ON CONFLICT (use_case_id) DO UPDATE SET document = EXCLUDED.document
        WHERE registry_usecasesearchtext.document IS DISTINCT FROM EXCLUDED.document;
$$;

CREATE FUNCTION registry_usecasesearch_on_use_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO registry_usecasesearchtext (use_case_id, document)
            SELECT s.use_case_id, s.document FROM registry_usecasesearch_source s
            WHERE s.use_case_id IN (SELECT id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        DELETE FROM registry_usecasesearchtext WHERE use_case_id IN (SELECT id FROM old_rows);
    ELSE
        PERFORM registry_usecasesearch_write(ARRAY(
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.title, n.external_id, n.summary, n.capability, n.decision_id, n.business_unit_id,
                   n.business_owner_id, n.technical_owner_id)
                  IS DISTINCT FROM (o.title, o.external_id, o.summary, o.capability, o.decision_id,
                                    o.business_unit_id, o.business_owner_id, o.technical_owner_id)));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER registry_usecasesearch_on_insert AFTER INSERT ON registry_usecase
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_usecasesearch_on_use_case();
CREATE TRIGGER registry_usecasesearch_on_update AFTER UPDATE ON registry_usecase
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION registry_usecasesearch_on_use_case();
CREATE TRIGGER registry_usecasesearch_on_delete AFTER DELETE ON registry_usecase
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION registry_usecasesearch_on_use_case();

CREATE FUNCTION registry_usecasesearch_on_decision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry_usecasesearch_write(ARRAY(
        SELECT u.id FROM registry_usecase u WHERE u.decision_id IN (
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE (n.statement, n.owner_id) IS DISTINCT FROM (o.statement, o.owner_id))));
    RETURN NULL;
END $$;
CREATE TRIGGER registry_usecasesearch_on_decision AFTER UPDATE ON registry_decision
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION registry_usecasesearch_on_decision();

CREATE FUNCTION registry_usecasesearch_on_person() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    renamed bigint[];
BEGIN
    renamed := ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
                     WHERE (n.name, n.email) IS DISTINCT FROM (o.name, o.email));
    IF cardinality(renamed) > 0 THEN
        PERFORM registry_usecasesearch_write(ARRAY(
            SELECT id FROM registry_usecase WHERE business_owner_id = ANY (renamed)
            UNION SELECT id FROM registry_usecase WHERE technical_owner_id = ANY (renamed)
            UNION SELECT u.id FROM registry_usecase u JOIN registry_decision d ON d.id = u.decision_id
                  WHERE d.owner_id = ANY (renamed)));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER registry_usecasesearch_on_person AFTER UPDATE ON registry_person
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION registry_usecasesearch_on_person();

CREATE FUNCTION registry_usecasesearch_on_unit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM registry_usecasesearch_write(ARRAY(
        SELECT u.id FROM registry_usecase u WHERE u.business_unit_id IN (
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.name IS DISTINCT FROM o.name)));
    RETURN NULL;
END $$;
CREATE TRIGGER registry_usecasesearch_on_unit AFTER UPDATE ON registry_businessunit
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION registry_usecasesearch_on_unit();
"""
POSTGRESQL_INDEX = """CREATE INDEX registry_usecasesearchtext_upper_trgm ON registry_usecasesearchtext
    USING gin ((UPPER(document)) gin_trgm_ops)"""
POSTGRESQL_REVERSE = """
DROP TRIGGER registry_usecasesearch_on_insert ON registry_usecase;
DROP TRIGGER registry_usecasesearch_on_update ON registry_usecase;
DROP TRIGGER registry_usecasesearch_on_delete ON registry_usecase;
DROP TRIGGER registry_usecasesearch_on_decision ON registry_decision;
DROP TRIGGER registry_usecasesearch_on_person ON registry_person;
DROP TRIGGER registry_usecasesearch_on_unit ON registry_businessunit;
DROP FUNCTION registry_usecasesearch_on_use_case();
DROP FUNCTION registry_usecasesearch_on_decision();
DROP FUNCTION registry_usecasesearch_on_person();
DROP FUNCTION registry_usecasesearch_on_unit();
DROP FUNCTION registry_usecasesearch_write(bigint[]);
DROP VIEW registry_usecasesearch_source;
"""

# SQLite (the zero-setup start) has row triggers only: the same rules, a row at a time.
_SQLITE_WRITE = ("INSERT OR REPLACE INTO registry_usecasesearchtext (use_case_id, document) "
                 "SELECT use_case_id, document FROM registry_usecasesearch_source WHERE use_case_id IN ({ids});")
SQLITE = [
    f"CREATE VIEW registry_usecasesearch_source AS {SQLITE_DOCUMENT}",
    f"CREATE TRIGGER registry_usecasesearch_on_insert AFTER INSERT ON registry_usecase BEGIN "
    f"{_SQLITE_WRITE.format(ids='NEW.id')} END",
    "CREATE TRIGGER registry_usecasesearch_on_update AFTER UPDATE OF title, external_id, summary, capability, "
    "decision_id, business_unit_id, business_owner_id, technical_owner_id ON registry_usecase BEGIN "
    f"{_SQLITE_WRITE.format(ids='NEW.id')} END",
    "CREATE TRIGGER registry_usecasesearch_on_delete AFTER DELETE ON registry_usecase BEGIN "
    "DELETE FROM registry_usecasesearchtext WHERE use_case_id = OLD.id; END",
    "CREATE TRIGGER registry_usecasesearch_on_decision AFTER UPDATE OF statement, owner_id ON registry_decision BEGIN "
    f"{_SQLITE_WRITE.format(ids='SELECT id FROM registry_usecase WHERE decision_id = NEW.id')} END",
    "CREATE TRIGGER registry_usecasesearch_on_person AFTER UPDATE OF name, email ON registry_person BEGIN "
    + _SQLITE_WRITE.format(ids="SELECT id FROM registry_usecase WHERE business_owner_id = NEW.id "
                               "OR technical_owner_id = NEW.id OR decision_id IN "
                               "(SELECT id FROM registry_decision WHERE owner_id = NEW.id)") + " END",
    "CREATE TRIGGER registry_usecasesearch_on_unit AFTER UPDATE OF name ON registry_businessunit BEGIN "
    f"{_SQLITE_WRITE.format(ids='SELECT id FROM registry_usecase WHERE business_unit_id = NEW.id')} END",
]
SQLITE_REVERSE = [
    *(f"DROP TRIGGER {name}" for name in (
        "registry_usecasesearch_on_insert", "registry_usecasesearch_on_update", "registry_usecasesearch_on_delete",
        "registry_usecasesearch_on_decision", "registry_usecasesearch_on_person", "registry_usecasesearch_on_unit")),
    "DROP VIEW registry_usecasesearch_source",
]

# The documents of the use cases already there.
FILL = "INSERT INTO registry_usecasesearchtext (use_case_id, document) SELECT use_case_id, document FROM registry_usecasesearch_source"


def keep_search_text(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in [POSTGRESQL, FILL, POSTGRESQL_INDEX] if postgresql else [*SQLITE, FILL]:
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    statements = [POSTGRESQL_REVERSE] if schema_editor.connection.vendor == "postgresql" else SQLITE_REVERSE
    for statement in statements:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0020_use_case_decision_index_covers_id"),
    ]

    operations = [
        migrations.CreateModel(
            name="UseCaseSearchText",
            fields=[
                ("use_case", models.OneToOneField(on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True,
                                                  related_name="search_text", serialize=False,
                                                  to="registry.usecase")),
                ("document", models.TextField()),
            ],
        ),
        migrations.RunPython(keep_search_text, drop_triggers),
    ]
