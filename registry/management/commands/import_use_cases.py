from core.actors import IMPORT
from registry.inventory.formats import DEFAULT_FORMAT, IMPORT_FORMATS, importer_for

from ._importing import ImportCommand


class Command(ImportCommand):
    help = (
        "Create or update use cases from a CSV or XLSX inventory, all or nothing (see README). "
        "--format omb-2025 / omb-2024 reads the US federal AI use case inventory as published."
    )
    noun = "use cases"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--format", choices=IMPORT_FORMATS, default=DEFAULT_FORMAT,
            help="the file's columns: contract (default, the README's columns), omb-2025 or omb-2024 "
            "(the US federal inventories as published)",
        )

    def import_file(self, file, *, dry_run, format=DEFAULT_FORMAT, **options):
        return importer_for(format)(file, actor=IMPORT, dry_run=dry_run, progress=self.progress)
