from registry.inventory.directory import import_people

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Upsert directory people from a CSV or XLSX feed (columns: email, name, business_unit, active)."
    noun = "people"
    importer = staticmethod(import_people)
