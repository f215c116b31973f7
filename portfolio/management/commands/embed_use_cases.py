from django.core.management.base import BaseCommand, CommandError

from core.cli import progress_bar
from portfolio import embeddings


class Command(BaseCommand):
    help = ("Embed the use cases whose text changed since they were last embedded (a scan does this too), "
            "with a progress bar; --all embeds every use case again.")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", dest="everything", help="embed every use case, changed or not")

    def handle(self, *args, everything, **options):
        try:
            model = embeddings.model_id()
        except embeddings.EmbeddingModelMissing as exc:
            raise CommandError(str(exc)) from None
        bar = progress_bar(self, unit="use case", desc="Embedding")

        def show(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            count = embeddings.refresh(everything=everything, progress=show)
        finally:
            bar.close()
        self.stdout.write(f"Embedded {count} use case{'s' if count != 1 else ''} with {model}.")
