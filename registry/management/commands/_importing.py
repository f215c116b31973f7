"""What the import commands share: options, the progress bar, and reporting failures.

However an import ends, the command says so in words and exits non-zero: the problems the
check found, one `row N, column C: message` a line (at most the first IMPORT_MAX_ERRORS, then
how many more); a failure while writing, or any unexpected error, in one line naming the row
when it is known. Nothing was written in either case (the import is one transaction).
`--traceback` shows where an unexpected error came from.
"""

from django.core.management.base import BaseCommand, CommandError

from core.actors import import_of
from core.cli import progress_bar
from core.errors import DomainError
from registry.inventory.common import PROGRESS_THRESHOLD_ROWS, ImportFailed, ImportWriteFailed


def _first_line(error: BaseException) -> str:
    text = (str(error).strip().splitlines() or [""])[0]
    return text if len(text) <= 200 else text[:200] + "…"


class ImportCommand(BaseCommand):
    """Subclasses name the plain function that imports (`importer`) and what a row is (`noun`).

    Commands import as a system actor named by the file ("import of people.csv"), which the
    audit log shows as the writer of every row the import writes."""

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
        return self.importer(file, actor=import_of(file), dry_run=dry_run, progress=self.progress)

    def handle(self, *args, file, dry_run, **options):
        try:
            report = self.import_file(file, dry_run=dry_run, **options)
        except ImportFailed as failed:
            for line in failed.lines:
                self.stderr.write(line)
            count = failed.count
            raise CommandError(f"{count} problem{'s' if count > 1 else ''} found; nothing was imported.") from None
        except DomainError as refused:
            raise CommandError(refused.message) from None
        except ImportWriteFailed as failed:
            raise CommandError(str(failed)) from failed
        except CommandError:
            raise
        except Exception as exc:  # a bug: one line here, the whole story with --traceback
            name = exc.__class__.__name__
            message = _first_line(exc)
            raise CommandError(
                f"the import stopped on an unexpected error ({name}{': ' + message if message else ''}); "
                "nothing was imported. Run it again with --traceback to see where."
            ) from exc
        self.stdout.write(("Dry run, nothing written. " if dry_run else "") + report.summary(self.noun))
