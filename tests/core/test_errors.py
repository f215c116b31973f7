"""The domain errors' shapes, which the API and the pages map once: no database needed."""

from core.errors import InvalidInput, StaleVersion
from registry.inventory.common import ImportFailed, RowError


def test_an_invalid_input_names_its_field():
    refused = InvalidInput("An observation cannot be in the future.", field="observed_on")

    assert refused.field_errors() == {"observed_on": ["An observation cannot be in the future."]}


def test_invalid_input_of_many_fields_says_each_in_its_message():
    refused = InvalidInput.of({"name": ["is blank"], "__all__": ["nothing was saved"]})

    assert refused.field_errors() == {"name": ["is blank"], "__all__": ["nothing was saved"]}
    assert refused.message == "name: is blank; nothing was saved"


def test_a_failed_import_keeps_its_rows_and_maps_them_to_the_whole_input():
    failed = ImportFailed([RowError(2, "title", "is required"), RowError(1, "stage", "is not a stage")])

    assert [str(e) for e in failed.errors] == ["row 1, column stage: is not a stage", "row 2, column title: is required"]
    assert failed.field_errors() == {"__all__": ["row 1, column stage: is not a stage", "row 2, column title: is required"]}


def test_a_stale_version_says_to_reload():
    class Record:
        version = 3

        def __str__(self):
            return "Churn offers"

    stale = StaleVersion(Record(), 2)

    assert "version 3, not 2" in stale.message and "Reload" in stale.message
