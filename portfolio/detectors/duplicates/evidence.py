"""What a group shares, in words a program office reads: the capability that names it, the
products its members name, and the task terms that explain each pair's score.

The capability is the phrase of the members' titles (one to four words, neither starting nor
ending with a function word, some task term in it) found in the most titles, a longer one
preferred when nearly as common (``public comment analysis`` over ``comment``). A phrase of
one task term says too little: a longer phrase around it that a third of the members' titles
and summaries have takes its place (``public comments``); failing that, the task terms the
group shares most follow it (``FOIA: redaction, requests``), or stand alone when no phrase is
in two titles. A product named by most members follows in brackets.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

from .features import Features
from .vocabulary import _WORD, Vocabulary, stem, words_of

SHARED_TERMS = 8
PAIR_TERMS = 5
LONGEST_PHRASE = 4
# A phrase one word longer counts this much more, per word.
LONGER_PHRASE = 0.4


def contributions(rows: list[int], features: Features) -> dict[int, float]:
    """Each task term's part of the similarity of the rows' pairs: over the pairs, the sum of
    the products of its weights."""
    total: Counter = Counter()
    squares: Counter = Counter()
    for row in rows:
        for term, weight in features.weights(row).items():
            total[term] += weight
            squares[term] += weight * weight
    return {term: (total[term] ** 2 - squares[term]) / 2 for term in total
            if (total[term] ** 2 - squares[term]) > 1e-12}


def shared_terms(rows: list[int], features: Features, readable: dict[str, str], limit: int) -> list[str]:
    parts = contributions(rows, features)
    best = sorted(parts, key=lambda term: (-parts[term], features.terms[term]))[:limit]
    return [readable.get(features.terms[term], features.terms[term]) for term in best]


def shared_products(rows: list[int], features: Features, at_least: int = 2) -> list[str]:
    named = Counter(product for row in rows for product in features.named(row))
    return [features.product_names[product]
            for product, count in sorted(named.items(), key=lambda item: (-item[1], item[0])) if count >= at_least]


def as_written(name: str, texts: Iterable[str]) -> str:
    """`name` (lower-cased) as the texts spell it."""
    pattern = re.compile(r"\b" + r"\W+".join(map(re.escape, name.split())) + r"\b", re.IGNORECASE)
    for text in texts:
        if found := pattern.search(text):
            return found.group(0)
    return name


def _phrases(members: list[list[str]], vocabulary: Vocabulary) -> tuple[dict[tuple[str, ...], set[int]], dict]:
    """Each phrase (stems) of the members' segments, with the members that have it and its
    first spelling; a phrase never spans two segments (a title and a summary's sentence)."""
    seen: dict[tuple[str, ...], set[int]] = {}
    written: dict[tuple[str, ...], str] = {}
    for member, segments in enumerate(members):
        for segment in segments:
            found = words_of(segment)
            words, labelling = [word for word, _ in found], [label for _, label in found]
            stems = [stem(word.lower()) for word in words]
            meaningful = [not (label or word.lower() in vocabulary.stop or word in vocabulary.names or word.isdigit())
                          for word, label in zip(words, labelling)]
            for start in range(len(words)):
                for length in range(1, min(LONGEST_PHRASE, len(words) - start) + 1):
                    end = start + length - 1
                    if meaningful[start] and meaningful[end] and vocabulary.terms(" ".join(words[start:end + 1])):
                        key = tuple(stems[start:end + 1])
                        seen.setdefault(key, set()).add(member)
                        written.setdefault(key, " ".join(words[start:end + 1]))
    return seen, written


def _most_common(seen: dict[tuple[str, ...], set[int]], written: dict, keys) -> tuple[str, int]:
    common = sorted((-len(seen[key]) * (1 + LONGER_PHRASE * (len(key) - 1)), -len(key), key)
                    for key in keys if len(seen[key]) >= 2)
    return (written[common[0][2]], len(seen[common[0][2]])) if common else ("", 0)


def title_phrase(titles: list[str], vocabulary: Vocabulary) -> tuple[str, int]:
    """The phrase of the most titles (see the module's docstring) and how many titles have it;
    blank when none is in two."""
    seen, written = _phrases([[title] for title in titles], vocabulary)
    return _most_common(seen, written, seen)


_SENTENCE_END = re.compile(r"[.;:!?()\n]+")


def longer_phrase(word: str, titles: list[str], summaries: list[str], vocabulary: Vocabulary) -> tuple[str, int]:
    """The phrase of two task terms or more around `word` (a title phrase of one term) that
    the most members' titles and summaries have, and how many; blank when none is in two.
    "comment" is in most titles of a public comment group, "public comments" in most texts."""
    members = [[title, *_SENTENCE_END.split(summary)] for title, summary in zip(titles, summaries)]
    seen, written = _phrases(members, vocabulary)
    around = tuple(stem(w.lower()) for w in _WORD.findall(word))
    keys = [key for key in seen if len(key) > len(around) and _contains(key, around)
            and len(vocabulary.terms(written[key])) >= 2]
    return _most_common(seen, written, keys)


def _contains(key: tuple[str, ...], part: tuple[str, ...]) -> bool:
    return any(key[i:i + len(part)] == part for i in range(len(key) - len(part) + 1))


def capability(rows: list[int], titles: list[str], summaries: list[str], texts: list[str], features: Features,
               vocabulary: Vocabulary, readable: dict[str, str]) -> str:
    phrase, _ = title_phrase(titles, vocabulary)
    if phrase and len(vocabulary.terms(phrase)) < 2:
        longer, members = longer_phrase(phrase, titles, summaries, vocabulary)
        if members * 3 >= len(rows):
            phrase = longer
    if len(vocabulary.terms(phrase)) < 2:
        said = set(vocabulary.terms(phrase))
        terms = [term for term in shared_terms(rows, features, readable, 4) if not set(vocabulary.terms(term)) <= said]
        phrase = f"{phrase}: {', '.join(terms[:2])}" if phrase else ", ".join(terms[:3])
    products = shared_products(rows, features, at_least=max(2, (len(rows) + 1) // 2))
    if products and products[0] not in phrase.lower():
        phrase = f"{phrase} ({as_written(products[0], texts)})"
    return phrase[:1].upper() + phrase[1:]


def pair_terms(a: int, b: int, features: Features, readable: dict[str, str]) -> list[str]:
    return shared_terms([a, b], features, readable, PAIR_TERMS)


def mean_and_min(scores: list[float]) -> dict:
    values = np.array(scores)
    return {"min": round(float(values.min()), 3), "mean": round(float(values.mean()), 3)}


def shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
