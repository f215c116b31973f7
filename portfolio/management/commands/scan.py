import json

from django.core.management.base import BaseCommand, CommandError

from core.actors import COMMAND
from portfolio.models import ACTIVE_STATUSES, Finding
from portfolio.services.scans import ALL_KINDS, ScanAlreadyRunning, run_scan_now
from core.cli import iso_date


class Command(BaseCommand):
    help = "Run the portfolio scans now, with the same code the Celery tasks run."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=iso_date, default=None, help="judge the portfolio as on YYYY-MM-DD (default today)")
        parser.add_argument("--kind", action="append", choices=ALL_KINDS, dest="kinds",
                            help="a kind of scan; repeat for several (default: all)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the open findings as one JSON object, and nothing else")

    def handle(self, *args, as_of, kinds, as_json, **options):
        try:
            scan_run = run_scan_now(kinds=kinds, as_of=as_of, actor=COMMAND)
        except ScanAlreadyRunning as exc:
            raise CommandError(str(exc)) from None
        if as_json:
            self.stdout.write(self._json(scan_run))
            return
        self.stdout.write(
            f"Scanned {', '.join(scan_run.kinds)} as of {scan_run.as_of.isoformat()} in "
            f"{scan_run.duration.total_seconds():.1f} s: {scan_run.opened} opened ({scan_run.reopened} of them reopened), "
            f"{scan_run.still_open} still open, {scan_run.resolved} resolved."
        )

    def _json(self, scan_run) -> str:
        findings = (
            Finding.objects.filter(kind__in=scan_run.kinds, status__in=ACTIVE_STATUSES)
            .prefetch_related("use_cases")
            .order_by("kind", "id")
        )
        return json.dumps({
            "as_of": scan_run.as_of.isoformat(),
            "scan_run": scan_run.pk,
            "findings": [
                {
                    "id": finding.pk,
                    "kind": finding.kind,
                    "status": finding.status,
                    "severity": finding.severity,
                    "title": finding.title,
                    "use_cases": sorted(use_case.key for use_case in finding.use_cases.all()),
                    "first_seen": finding.first_seen.isoformat(),
                    "detail": finding.detail,
                }
                for finding in findings
            ],
        }, ensure_ascii=False, default=str)
