from registry.importing import import_use_cases

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Create or update use cases from a CSV or XLSX inventory, all or nothing (see README)."
    noun = "use cases"

    def run_import(self, path, dry_run):
        return import_use_cases(path, dry_run=dry_run, progress=self.progress)
