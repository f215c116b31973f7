from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry.cli import iso_date, positive_int, progress_bar
from registry.demo import RegistryNotEmpty, registry_holds_data, seed_demo_portfolio

# Below this many use cases the seeding is over before a progress bar would help.
PROGRESS_THRESHOLD_USE_CASES = 1000


class Command(BaseCommand):
    help = (
        "Fill an empty registry with a realistic demo portfolio and create the demo logins "
        "office, owner and auditor. Same seed and date, same portfolio."
    )

    def add_arguments(self, parser):
        parser.add_argument("--use-cases", type=positive_int, default=300, help="how many use cases (default 300)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
        parser.add_argument(
            "--today", type=iso_date, default=None,
            help="date the portfolio is seeded as of, YYYY-MM-DD (default: today); all history lies before it",
        )
        existing = parser.add_mutually_exclusive_group()
        existing.add_argument(
            "--reset", action="store_true", help="delete everything in the registry (and its history) first"
        )
        existing.add_argument(
            "--if-empty", action="store_true", help="seed only an empty registry; otherwise keep it and succeed"
        )

    def handle(self, *args, use_cases, seed, today, reset, if_empty, **options):
        if if_empty and registry_holds_data():
            self.stdout.write("The registry already holds data: keeping it (start over with seed_demo --reset).")
            return
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
