from django.core.management.base import BaseCommand, CommandError

from core.errors import InvalidInput
from registry import audit


class Command(BaseCommand):
    help = ("Recompute the audit log: every entry's digest from the row it records, and the hash chain. "
            "Exits 1 naming the first entry changed or removed outside the application.")

    def add_arguments(self, parser):
        parser.add_argument("--anchor", action="append", default=[], metavar="SEQ:HASH",
                            help="a chain head kept elsewhere (a scan run's, or one printed before): the chain "
                                 "must still hold it at that position; repeatable")
        parser.add_argument("--seal", action="store_true",
                            help="seal the entries written since the last seal first, then verify")

    def handle(self, *args, anchor, seal, **options):
        try:
            anchors = [audit.parse_anchor(text) for text in anchor]
        except InvalidInput as error:
            raise CommandError(str(error)) from None
        if seal:
            audit.seal()
        result = audit.verify(anchors=anchors)
        if not result.intact:
            for problem in sorted(result.breaks, key=lambda b: (b.seq is None, b.seq or 0, b.entry_id or 0))[1:]:
                self.stderr.write(f"also: {problem}")
            raise CommandError(f"The audit trail is broken. First broken: {result.first_break}")
        self.stdout.write(f"The audit trail is intact: {result.entries:,} entries, chain head {result.head}"
                          + (f", {result.unsealed:,} written since the last seal" if result.unsealed else "") + ".")
