from registry.importing import import_people

from ._importing import ImportCommand


class Command(ImportCommand):
    help = "Upsert directory people from a CSV or XLSX feed (columns: email, name, business_unit, active)."
    noun = "people"

    def run_import(self, path, dry_run):
        return import_people(path, dry_run=dry_run, progress=self.progress)
