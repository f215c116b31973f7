"""The API's use case list searches and filters as the page does (one selector)."""

import pytest
from rest_framework.test import APIClient

from registry.models import HighImpact, OMBDetermination
from registry.selectors import use_cases as use_case_selectors
from tests.factories import BusinessUnitFactory, PersonFactory, UseCaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(program_office_user):
    client = APIClient()
    client.force_authenticate(program_office_user)
    return client


def test_search_reads_units_and_owners_and_high_impact_filters(office):
    grace = PersonFactory(name="Grace Hopper", email="grace@example.com")
    compiler = UseCaseFactory(title="Compiler assistant", technical_owner=grace)
    UseCaseFactory(title="Other", decision__business_unit=BusinessUnitFactory(name="Harbour"))
    OMBDetermination.objects.create(use_case=compiler, is_high_impact=HighImpact.HIGH_IMPACT)

    def titles(params):
        response = office.get("/api/use-cases/", params)
        assert response.status_code == 200, response.json()
        return [row["title"] for row in response.json()["results"]]

    assert titles({"search": "hopper"}) == ["Compiler assistant"]
    assert titles({"search": "grace@example.com"}) == ["Compiler assistant"]
    assert titles({"search": "harbour"}) == ["Other"]
    assert titles({"high_impact": "true"}) == ["Compiler assistant"]
    assert titles({"high_impact": "false"}) == ["Other"]
    assert office.get("/api/use-cases/", {"high_impact": "maybe"}).status_code == 400


def _found(client, words) -> list[int]:
    response = client.get("/api/use-cases/", {"search": words, "page_size": 100})
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_search_finds_a_use_case_by_each_searched_field_and_no_other(office):
    """Each of SEARCH_FIELDS, given a word of its own, finds its use case alone; a word split
    between two fields finds nothing."""
    decider = PersonFactory(name="Ottoline Quarry", email="o.quarry@decider.example")
    use_case = UseCaseFactory(
        title="Wharfage tariff model", external_id="XQ-77", summary="Reads bills of lading.", capability="ocr gleaning",
        decision__statement="Which berths are assigned tonight?", decision__owner=decider,
        decision__business_unit=BusinessUnitFactory(name="Harbourmaster"),
        business_owner=PersonFactory(name="Benedikt Vole", email="b.vole@owner.example"),
        technical_owner=PersonFactory(name="Tamsin Ferrule", email="t.ferrule@tech.example"),
    )
    UseCaseFactory.create_batch(2)
    words = {
        "title": "wharfage", "external_id": "xq-77", "summary": "LADING", "capability": "gleaning",
        "decision__statement": "berths", "business_unit__name": "harbourmaster", "business_owner__name": "vole",
        "business_owner__email": "@owner.", "technical_owner__name": "ferrule", "technical_owner__email": "@tech.",
        "decision__owner__name": "ottoline", "decision__owner__email": "@decider.",
    }
    assert set(words) == set(use_case_selectors.SEARCH_FIELDS)
    for field, word in words.items():
        assert _found(office, word) == [use_case.pk], field
    assert _found(office, '"xq-77 reads"') == []  # the external id's end and the summary's start
    assert _found(office, "wharfage berths vole") == [use_case.pk]  # every word, in any fields
    assert _found(office, "wharfage zqxw") == []


def test_search_finds_words_in_any_case_accented_letters_too(office):
    """The search text is kept in capitals (registry migration 0022): a word is found however
    either side writes it, as when each row was put in capitals to compare."""
    use_case = UseCaseFactory(title="Tariff model for the Øresund crossing",
                              business_owner=PersonFactory(name="Zoë Kaya", email="zoe.kaya@example.com"))
    UseCaseFactory(title="Other")

    for words in ("øresund", "ØRESUND", "Zoë", "ZOË", "ZOE.KAYA@EXAMPLE", "tariff MODEL", "kaya"):
        assert _found(office, words) == [use_case.pk], words
    assert _found(office, "oresund") == []  # "o" is not "ø"
    assert _found(office, "100%") == _found(office, "model_") == []  # a wildcard is a character


def test_search_follows_the_decision_people_and_unit_when_they_change(office, program_office_user):
    """Renaming a person, a unit or restating a decision (through the API or any other writer)
    changes what finds the use cases they answer for, at once."""
    use_case = UseCaseFactory(decision__statement="Which quays are dredged?")
    other = UseCaseFactory()
    decision = use_case.decision
    etag = office.get(f"/api/decisions/{decision.pk}/")["ETag"]
    new_owner = PersonFactory(name="Wilhelmina Sprocket")
    response = office.patch(f"/api/decisions/{decision.pk}/", {"statement": "Which locks open first?",
                                                               "owner": new_owner.pk},
                            format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.json()
    assert _found(office, "dredged") == []
    assert _found(office, "locks") == _found(office, "sprocket") == [use_case.pk]

    response = office.post("/api/people/bulk-upsert/", {"people": [
        {"email": use_case.technical_owner.email, "name": "Peregrine Gantry"}]}, format="json")
    assert response.status_code == 200, response.json()
    assert _found(office, "gantry") == [use_case.pk]
    new_owner.name = "Wilhelmina Bollard"
    new_owner.save()
    assert _found(office, "sprocket") == [] and _found(office, "bollard") == [use_case.pk]

    unit = use_case.business_unit
    unit.name = "Dockyard"
    unit.save()
    assert _found(office, "dockyard") == [use_case.pk]

    etag = office.get(f"/api/use-cases/{other.pk}/")["ETag"]
    response = office.patch(f"/api/use-cases/{other.pk}/", {"business_owner": use_case.technical_owner.pk},
                            format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.json()
    assert sorted(_found(office, "gantry")) == sorted([use_case.pk, other.pk])


def test_a_deleted_use_case_leaves_no_search_text_behind(office):
    from django.db import connection

    kept, deleted = UseCaseFactory(title="Sluice gate planner"), UseCaseFactory(title="Sluice gate monitor")
    deleted.delete()
    connection.check_constraints()  # the deferred foreign keys, as at commit
    assert _found(office, "sluice") == [kept.pk]


@pytest.mark.parametrize("path", ["/api/use-cases/", "/api/investments/", "/api/kpi-observations/", "/api/scan-runs/"])
def test_a_search_holding_a_nul_is_refused_naming_it_whether_or_not_the_list_searches_anything(office, path):
    response = office.get(path, {"search": "invoice\x00"})

    assert response.status_code == 400
    assert "search" in response.json()


def test_a_searched_word_holding_quotes_wildcards_or_backslashes_finds_what_holds_it_and_nothing_else(office):
    """A searched word is written into the statement, quoted (core.expressions.PlannedFor): every
    character of it is searched for as it is, the same on every database."""
    odd = UseCaseFactory(title=r"O'Brien's 100% C:\models\v2_final %s {x}")
    UseCaseFactory(title="O Briens 1000 models v2final")

    for words in ("o'brien's", "100%", r"c:\models\v2_final", "%s", "{x}", "n's", "% c:", "2_f", r"s\v", '"%s" 100%'):
        assert _found(office, words) == [odd.pk], words
    assert _found(office, "o''brien") == _found(office, r"\\") == _found(office, "%%") == []
    response = office.get("/api/decisions/", {"search": "o'brien's 100%"})
    assert response.status_code == 200 and response.json()["results"] == []
