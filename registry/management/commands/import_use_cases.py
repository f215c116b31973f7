from registry.importing import CONTRACT_FORMAT, INVENTORY_FORMATS, import_use_cases

from ._importing import ImportCommand


class Command(ImportCommand):
    help = (
        "Create or update use cases from a CSV or XLSX inventory, all or nothing (see README). "
        "--format omb-2025 / omb-2024 reads the US federal AI use case inventory as published."
    )
    noun = "use cases"
    importer = staticmethod(import_use_cases)

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--format", choices=INVENTORY_FORMATS, default=CONTRACT_FORMAT,
            help="the file's columns: contract (default, the README's columns), omb-2025 or omb-2024 "
            "(the US federal inventories as published)",
        )

    def import_file(self, file, *, dry_run, format=CONTRACT_FORMAT, **options):
        return self.importer(file, dry_run=dry_run, progress=self.progress, format=format)
