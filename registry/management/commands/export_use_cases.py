from django.core.management.base import BaseCommand, CommandError

from registry.importing import export_use_cases


class Command(BaseCommand):
    help = "Write every use case in the columns import_use_cases reads (CSV, or XLSX by extension)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="where to write; a name ending in .xlsx writes a workbook")

    def handle(self, *args, file, **options):
        try:
            count = export_use_cases(file)
        except OSError as exc:
            raise CommandError(f"cannot write {file}: {exc.strerror or exc}") from None
        self.stdout.write(f"{count} use cases written to {file}.")
