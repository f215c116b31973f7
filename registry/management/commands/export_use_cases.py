from django.core.management.base import BaseCommand, CommandError

from registry.importing import CONTRACT_FORMAT, export_use_cases
from registry.federal import OMB_2025


class Command(BaseCommand):
    help = (
        "Write every use case in the columns import_use_cases reads (CSV, or XLSX by extension); "
        "--format omb-2025 writes the US federal inventory's 2025 columns."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="where to write; a name ending in .xlsx writes a workbook")
        parser.add_argument(
            "--format", choices=(CONTRACT_FORMAT, OMB_2025), default=CONTRACT_FORMAT,
            help="contract (default: the columns import_use_cases reads) or omb-2025 (CSV, UTF-8 with BOM)",
        )

    def handle(self, *args, file, format, **options):
        try:
            count = export_use_cases(file, format=format)
        except OSError as exc:
            raise CommandError(f"cannot write {file}: {exc.strerror or exc}") from None
        self.stdout.write(f"{count} use cases written to {file}.")
