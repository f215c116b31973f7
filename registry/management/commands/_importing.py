"""What the import commands share: options, the progress bar, and reporting failures."""

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from registry.importing import PROGRESS_THRESHOLD_ROWS, ImportFailed


class ImportCommand(BaseCommand):
    noun = "rows"

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV (UTF-8, header row) or XLSX file")
        parser.add_argument("--dry-run", action="store_true", help="check the file and report, writing nothing")

    def run_import(self, path, dry_run):
        raise NotImplementedError

    def progress(self, rows):
        if len(rows) <= PROGRESS_THRESHOLD_ROWS:
            return rows
        # The bar goes to the command's own stderr stream, unwrapped so its carriage returns work.
        return tqdm(rows, desc="checking rows", unit="row", file=getattr(self.stderr, "_out", sys.stderr), mininterval=0.5)

    def handle(self, *args, file, dry_run, **options):
        try:
            report = self.run_import(file, dry_run)
        except ImportFailed as failed:
            for error in failed.errors:
                self.stderr.write(str(error))
            count = len(failed.errors)
            raise CommandError(f"{count} problem{'s' if count > 1 else ''} found; nothing was imported.") from None
        self.stdout.write(("Dry run, nothing written. " if dry_run else "") + report.summary(self.noun))
