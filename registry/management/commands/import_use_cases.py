from core.actors import import_of
from core.cli import iso_date
from registry.inventory.formats import DEFAULT_FORMAT, IMPORT_FORMATS, import_use_cases

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
        parser.add_argument(
            "--as-of", type=iso_date, default=None,
            help="omb-2025, omb-2024: the date the inventory speaks for, YYYY-MM-DD (default: the latest date "
            "the file reports as reached); the scans judge its rows' ages then",
        )

    def import_file(self, file, *, dry_run, format=DEFAULT_FORMAT, as_of=None, **options):
        return import_use_cases(file, actor=import_of(file), format=format, dry_run=dry_run, as_of=as_of,
                                progress=self.progress)
