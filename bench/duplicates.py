"""Time the duplicated-capability detector on two seeded portfolios; print seconds, peak memory,
the groups it finds and the ratio of the two times.

    # once: two databases holding demo portfolios of 10,000 and 100,000 use cases
    for n in 10000 100000; do
        export DATABASE_URL=postgres://postgres@127.0.0.1:5432/lastmile_dup_$n
        createdb -h 127.0.0.1 -U postgres lastmile_dup_$n
        .venv/bin/python manage.py migrate
        .venv/bin/python manage.py seed_demo --use-cases $n --seed 1 --today 2026-11-23
    done
    .venv/bin/python bench/duplicates.py --as-of 2026-11-23 \\
        postgres://postgres@127.0.0.1:5432/lastmile_dup_10000 postgres://postgres@127.0.0.1:5432/lastmile_dup_100000

Each database is judged in a fresh process, so the peak memory (ru_maxrss) is that run's own,
Django included. The detector reads stored sentence embeddings (the scan refreshes them first;
`manage.py embed_use_cases` does it alone, about 15 ms a use case). `--template-embeddings`
stores, for use cases that have none, the embedding of their demo template's text instead
(the title less its " vN" and " — market", the summary less its "Scope: …"), a few hundred
texts rather than every copy: the detector's time is the same, seeding is minutes shorter. The demo plants families of near-duplicate use cases (demo/catalogue.py); the
report says how many groups are exactly such a family (its members, in one market), how many
mix planted members with others, and how many hold no planted member.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import multiprocessing
import os
import re
import resource
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    sys.path.insert(0, str(PROJECT_ROOT))
    import django

    django.setup()


def _store_template_embeddings(database_url: str) -> int:
    """Store, for each use case with no vector, the embedding of its template's text."""
    _setup(database_url)
    from portfolio import embeddings
    from portfolio.models import UseCaseEmbedding
    from registry.models import UseCase

    model = embeddings.encoder()
    rows = list(UseCase.objects.filter(embedding__isnull=True).values_list("pk", "version", "title", "summary"))
    templates = [
        embeddings.text_of(re.sub(r"( v\d+)?( — .*)?$", "", title), re.sub(r" Scope: [^.]*\.$", "", summary))
        for _, _, title, summary in rows
    ]
    distinct = sorted(set(templates))
    vectors = dict(zip(distinct, model.encode(distinct)))
    UseCaseEmbedding.objects.bulk_create([
        UseCaseEmbedding(
            use_case_id=pk, model_id=model.model_id, use_case_version=version,
            text_digest=hashlib.sha256(embeddings.text_of(title, summary).encode()).hexdigest(),
            vector=vectors[template].astype(embeddings.STORED_DTYPE).tobytes(),
        )
        for (pk, version, title, summary), template in zip(rows, templates)
    ], batch_size=2000)
    return len(rows)


def _judge(database_url: str, as_of: datetime.date, min_similarity: float | None) -> dict:
    _setup(database_url)
    from portfolio.models import Policy
    from portfolio.detectors import duplicates
    from demo.catalogue import DUPLICATE_FAMILIES
    from registry.models import UseCase

    policy = Policy() if min_similarity is None else Policy(duplicate_min_similarity=min_similarity)
    started = time.perf_counter()
    found = duplicates.detect(as_of=as_of, policy=policy)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    family_of_title = {member.use_case.title: index for index, family in enumerate(DUPLICATE_FAMILIES)
                       for member in family}
    members = {pk for finding in found for pk in finding.use_case_ids}
    titles = dict(UseCase.objects.filter(pk__in=members).values_list("pk", "title"))

    def planted(pk):
        # Demo titles are the template's, then " vN" for a repeat, then " — market".
        base, _, market = titles[pk].partition(" — ")
        family = family_of_title.get(re.sub(r" v\d+$", "", base))
        return None if family is None else (family, market)

    kinds = Counter()
    for finding in found:
        labels = [planted(pk) for pk in finding.use_case_ids]
        if all(label is None for label in labels):
            kinds["no planted member"] += 1
        elif len(set(labels)) == 1:
            kinds["one planted family, one market"] += 1
        else:
            kinds["mixed"] += 1
    return {
        "use cases": UseCase.objects.exclude(stage="retired").count(),
        "seconds": seconds,
        "peak MiB": peak_mib,
        "groups": len(found),
        "sizes": dict(sorted(Counter(len(finding.use_case_ids) for finding in found).items())),
        "severities": dict(Counter(str(finding.severity) for finding in found)),
        "kinds": dict(kinds),
        "examples": [(finding.title, finding.detail["similarity"], finding.detail["shared_terms"])
                     for finding in found[:: max(1, len(found) // 5)][:5]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("small", help="URL of the smaller portfolio's database (e.g. 10,000 use cases)")
    parser.add_argument("large", help="URL of the larger portfolio's database (e.g. 100,000 use cases)")
    parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=datetime.date.today())
    parser.add_argument("--min-similarity", type=float, default=None, help="default: the policy's default")
    parser.add_argument("--template-embeddings", action="store_true",
                        help="store a template's embedding for use cases that have none (see above)")
    options = parser.parse_args()

    print(f"{os.cpu_count()} CPUs, as of {options.as_of}", flush=True)
    results = []
    for url in (options.small, options.large):
        if options.template_embeddings:
            with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
                stored = pool.submit(_store_template_embeddings, url).result()
            print(f"template embeddings stored for {stored:,} use cases", flush=True)
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            result = pool.submit(_judge, url, options.as_of, options.min_similarity).result()
        results.append(result)
        print(f"{result['use cases']:,} use cases judged: {result['seconds']:.1f} s, "
              f"peak {result['peak MiB']:.0f} MiB, {result['groups']:,} groups", flush=True)
        print(f"  group sizes: {result['sizes']}")
        print(f"  severities: {result['severities']}")
        print(f"  groups by planted families: {result['kinds']}")
        for title, similarity, shared in result["examples"]:
            print(f"  e.g. {title}  {similarity}  {shared}")
    print(f"time ratio large/small: {results[1]['seconds'] / results[0]['seconds']:.1f}")


if __name__ == "__main__":
    main()
