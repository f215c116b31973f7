from registry.importing import import_use_cases

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Create or update use cases from a CSV or XLSX inventory, all or nothing (see README)."
    noun = "use cases"
    importer = staticmethod(import_use_cases)
