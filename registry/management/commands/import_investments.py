from registry.inventory.investments import import_investments

from ._importing import ImportCommand


class Command(ImportCommand):
    help = ("Create or correct investment per use case, value-chain layer and period from a CSV or XLSX file, "
            "all or nothing (columns: use_case, layer, period_start, period_end, planned, spent).")
    noun = "investments"
    importer = staticmethod(import_investments)
