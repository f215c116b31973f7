from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils import timezone

from demo.federal import default_inventory_path, seed_federal_demo
from demo.generator import seed_demo_portfolio
from demo.logins import DEMO_PASSWORD
from demo.reset import RegistryNotEmpty, registry_holds_data
from core.cli import iso_date, positive_int, progress_bar
from registry.inventory.common import ImportFailed
from registry.models import BusinessUnit, Person, UseCase

# Below this many use cases the seeding is over before a progress bar would help.
PROGRESS_THRESHOLD_USE_CASES = 1000


class Command(BaseCommand):
    help = (
        "Fill an empty registry with a realistic demo portfolio and create the demo logins "
        "office, owner and auditor. Same seed and date, same portfolio. --federal loads the "
        "published US federal AI use case inventory (2025) instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--use-cases", type=positive_int, default=300, help="how many use cases (default 300)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--today", type=iso_date, default=None,
            help="date the portfolio is seeded as of, YYYY-MM-DD (default: today); all history lies before it",
        )
        parser.add_argument(
            "--federal", action="store_true",
            help="load the 2025 US federal AI use case inventory (3,611 use cases) as the demo portfolio",
        )
        parser.add_argument(
            "--federal-file", default=None,
            help="the inventory to load with --federal (default: ../shared/data/federal_ai_use_cases.csv)",
        )
        existing = parser.add_mutually_exclusive_group()
        existing.add_argument(
            "--reset", action="store_true", help="delete everything in the registry (and its history) first"
        )
        existing.add_argument(
            "--if-empty", action="store_true", help="seed only an empty registry; otherwise keep it and succeed"
        )

    def handle(self, *args, use_cases, seed, today, reset, if_empty, federal, federal_file, **options):
        if if_empty and registry_holds_data():
            self.stdout.write("The registry already holds data: keeping it (start over with seed_demo --reset).")
            return
        if federal or federal_file:
            return self.seed_federal(path=federal_file, reset=reset, today=today)
        today = today or timezone.localdate()
        bar = None
        if use_cases > PROGRESS_THRESHOLD_USE_CASES:
            bar = progress_bar(self, total=use_cases, desc="seeding", unit=" use cases")
        try:
            summary = seed_demo_portfolio(
                use_cases=use_cases, seed=seed, today=today, progress=bar.update if bar else None, reset=reset
            )
        except RegistryNotEmpty as refused:
            raise CommandError(str(refused)) from None
        finally:
            if bar:
                bar.close()

        self.stdout.write(f"Demo portfolio seeded as of {today.isoformat()} (seed {seed}):")
        for label, count in summary.counts.items():
            self.stdout.write(f"  {count:>9,}  {label}")
        by_stage = ", ".join(f"{stage} {count:,}" for stage, count in summary.use_cases_by_stage.items())
        self.stdout.write(f"  use cases by stage: {by_stage}")
        self.stdout.write("Situations the scans will find:")
        for label, count in summary.situations.items():
            self.stdout.write(f"  {count:>9,}  {label}")
        self.stdout.write(f'Demo logins (password "{summary.password}"):')
        for login in summary.logins:
            self.stdout.write(f"  {login.username:<8} {login.role:<15} {login.name} <{login.email}>")

    def seed_federal(self, *, path, reset, today):
        path = path or default_inventory_path()
        try:
            report, logins = seed_federal_demo(path=path, reset=reset, today=today)
        except RegistryNotEmpty as refused:
            raise CommandError(str(refused)) from None
        except ImportFailed as failed:
            for error in failed.errors:
                self.stderr.write(str(error))
            raise CommandError(f"The federal inventory {path} could not be loaded; nothing was written.") from None
        self.stdout.write(f"US federal AI use case inventory loaded from {path}:")
        self.stdout.write(f"  {report.created:>9,}  use cases")
        self.stdout.write(f"  {BusinessUnit.objects.count():>9,}  agencies (business units)")
        self.stdout.write(f"  {Person.objects.count():>9,}  contacts (people)")
        by_stage = UseCase.objects.order_by("stage").values_list("stage").annotate(n=Count("pk"))
        self.stdout.write("  use cases by stage: " + ", ".join(f"{stage} {n:,}" for stage, n in by_stage))
        self.stdout.write("  no decision is named: every use case waits under its agency's placeholder decision")
        self.stdout.write(f'Demo logins (password "{DEMO_PASSWORD}"):')
        for login in logins:
            self.stdout.write(f"  {login.username:<8} {login.role:<15} {login.name} <{login.email}>")
