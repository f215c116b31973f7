from django.core.management.base import BaseCommand, CommandError

from registry.inventory.formats import DEFAULT_FORMAT, EXPORT_FORMATS, exporter_for


class Command(BaseCommand):
    help = (
        "Write every use case in the columns import_use_cases reads (CSV, or XLSX by extension); "
        "--format omb-2025 writes the US federal inventory's 2025 columns."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="where to write; a name ending in .xlsx writes a workbook")
        parser.add_argument(
            "--format", choices=EXPORT_FORMATS, default=DEFAULT_FORMAT,
            help="contract (default: the columns import_use_cases reads) or omb-2025 (CSV, UTF-8 with BOM)",
        )

    def handle(self, *args, file, format, **options):
        try:
            count = exporter_for(format)(file)
        except OSError as exc:
            raise CommandError(f"cannot write {file}: {exc.strerror or exc}") from None
        self.stdout.write(f"{count} use cases written to {file}.")
