"""What the import commands share: options, the progress bar, and reporting failures."""

from django.core.management.base import BaseCommand, CommandError

from core.actors import IMPORT
from core.cli import progress_bar
from registry.inventory.common import PROGRESS_THRESHOLD_ROWS, ImportFailed


class ImportCommand(BaseCommand):
    """Subclasses name the plain function that imports (`importer`) and what a row is (`noun`).

    Commands import as the system actor IMPORT."""

    noun = "rows"
    importer = None

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8, header row) or XLSX file")
        parser.add_argument("--dry-run", action="store_true", help="check the file and report, writing nothing")

    def progress(self, rows):
        if len(rows) <= PROGRESS_THRESHOLD_ROWS:
            return rows
        return progress_bar(self, rows, desc="checking rows", unit="row")

    def import_file(self, file, *, dry_run, **options):
        return self.importer(file, actor=IMPORT, dry_run=dry_run, progress=self.progress)

    def handle(self, *args, file, dry_run, **options):
        try:
            report = self.import_file(file, dry_run=dry_run, **options)
        except ImportFailed as failed:
            for error in failed.errors:
                self.stderr.write(str(error))
            count = len(failed.errors)
            raise CommandError(f"{count} problem{'s' if count > 1 else ''} found; nothing was imported.") from None
        self.stdout.write(("Dry run, nothing written. " if dry_run else "") + report.summary(self.noun))
