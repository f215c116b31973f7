"""Duplicated capabilities: use cases in different business units solving the same problem.

**What is compared.** Each use case's title, summary, capability and decision statement (none
for a placeholder decision, which names no problem), as one bag of terms. A term is a word's stem (``invoices`` and ``invoice`` are one term), or a
canonical word for a known synonym or phrase (``vendor`` → supplier, ``purchase order`` and
``PO`` → purchase order, ``virtual agent`` → chatbot), so that paraphrases meet. Function
words, registry boilerplate (``model``, ``use case``), cadence (``this week``) and numbers
are left out: they say nothing about the problem. A term counts by its field (the title
twice, the capability and the decision statement half: see the weights below), with
sublinear term frequency and smoothed inverse document frequency over the use cases judged;
each use case's vector is L2-normalised. The similarity of two use cases is the cosine of
their vectors, between 0 and 1.

Where and for whom a use case runs (geography such as ``Nordics`` or ``Brazil``, segments
such as ``SME`` or ``wholesale``) is its *market*, not its problem: it is no part of the
similarity, or every pair of unrelated use cases serving one market would look alike. It
only decides, among equally similar copies, which pair up: those serving the same market.

**Which pairs count.** Only use cases in different business units, judged on `as_of`: not
retired on that day and created by its end (the stage on `as_of` comes from the stage
transitions, as in the other scans). A pair is a duplicate when its similarity is at
least ``policy.duplicate_min_similarity``.

**Finding candidates without comparing all pairs.** Use cases with the same problem terms
in each field (copies of one use case for several markets) share a *profile*; an
inverted index over the profiles (a sparse matrix product, chunked, leaving out terms so
common that their postings would make it quadratic) gives each profile its
``NEIGHBOUR_PROFILES`` most similar profiles in other business units. Each use case is then
paired only with ``PARTNERS_PER_PROFILE`` use cases of each neighbouring profile, those
serving the same market first. The work grows with the number of use cases times these
constants, not with its square.

**Groups.** Pairs are taken best first and merge two groups only when (1) no business unit
would appear twice (a group names, per unit, the use case that duplicates the others), (2)
the group stays within ``MAX_GROUP_SIZE``, and (3) the average similarity over all pairs of
the merged group stays at the threshold or above (average linkage). So a chain A~B~C~D whose
ends are unrelated never becomes one group. One finding per group.

**Severity** grows with the group and with how far its members got:

- critical when two or more members are in production: the same thing is run and
  maintained twice, waste happening now;
- otherwise from the group's size: 2 → low, 3 → medium, 4 or more → high, one level up
  when two or more members are built (in pilot or production): the same thing has been
  built twice; never above high.

**Identity** is the group's anchor, its member with the lowest id; **substance** is the
sorted member ids, so a new member joining (or one leaving) reopens a dismissed finding.
The detail names the similarity (min and mean over the group's pairs), every pair's score,
the shared terms that contribute most to the similarity, and the business units.

The same data give the same findings in the same order.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import snowballstemmer

from portfolio.models import SEVERITY_ORDER, FindingKind
from registry.models import BusinessUnit, Stage, UseCase

from .base import LIVE_STAGES, Detected, stage_on

KIND = FindingKind.DUPLICATE_CAPABILITY

# How much a term counts by the field it is in. The title names the problem; the capability
# names a technique, which unrelated use cases share (tabular prediction, forecasting), and
# decision statements share their cadence and form, so these two count for less.
TITLE_WEIGHT = 2.0
SUMMARY_WEIGHT = 1.0
CAPABILITY_WEIGHT = 0.5
STATEMENT_WEIGHT = 0.5
# Neighbouring profiles kept per profile; partners each use case gets in a neighbouring profile.
NEIGHBOUR_PROFILES = 20
PARTNERS_PER_PROFILE = 3
# Profiles multiplied at once in the candidate product: bounds its memory.
PROFILE_CHUNK = 2000
# A term in more profiles than this (or 1% of them, if more) is left out of the candidate
# index: its postings would make the product quadratic, and alone it says little.
MAX_POSTINGS = 200
MAX_GROUP_SIZE = 10
SHARED_TERMS = 8
STATEMENT_IN_TITLE = 90

BUILT_STAGES = {Stage.PILOT, Stage.PRODUCTION}

# --- Vocabulary ------------------------------------------------------------------------------

FUNCTION_WORDS = frozenset("""
a about above across after again against all almost along also although always am among an and another any are
around as at be because been before being below between both but by can could did do does doing done down during
each either else enough etc even ever every few for from further get gets go goes had has have having he her here
hers him his how however i if in into is it its itself just last least less many may me might more most much must my
near neither new next no nor not of off often on once one only onto or other others our ours out over own per rather
same
several shall she should since so some such than that the their theirs them then there these they this those
though through thus to too under until up upon us very via was we were what when where whether which while who
whom whose why will with within without would yet you your yours
""".split())

# Words any use case could carry: they tell nothing about the problem solved.
BOILERPLATE = frozenset("""
ai ml model models use case cases scope pilot poc tool solution based using first
today tomorrow tonight night daily day days weekly week weeks weekend monthly month months quarterly quarter
quarters yearly year years annual annually hourly hour hours
""".split()) | {"machine learning", "artificial intelligence", "proof of concept", "use case"}

# Canonical term: the words and phrases that mean it in a portfolio of AI use cases.
SYNONYMS = {
    "supplier": ["supplier", "vendor"],
    "invoice": ["invoice", "invoicing", "bill", "billing"],
    "purchase order": ["purchase order", "po"],
    "accounts payable": ["accounts payable", "ap", "payables"],
    "accounts receivable": ["accounts receivable", "ar", "receivables"],
    "customer": ["customer", "client", "subscriber", "shopper"],
    "employee": ["employee", "staff", "worker", "colleague", "personnel", "workforce"],
    "applicant": ["applicant", "candidate", "jobseeker", "job seeker"],
    "cv": ["cv", "resume", "curriculum vitae"],
    "hiring": ["hiring", "hire", "recruit", "recruiting", "recruitment", "talent acquisition"],
    "screening": ["screening", "screen", "shortlist", "shortlisting"],
    "chatbot": ["chatbot", "chat bot", "bot", "virtual agent", "virtual assistant", "digital assistant",
                "conversational assistant", "conversational agent", "chat assistant"],
    "faq": ["faq", "faqs", "frequently asked question", "frequent question", "common question", "how to question"],
    "knowledge base": ["knowledge base", "knowledge article", "help article", "help centre article",
                       "help center article", "help centre", "help center"],
    "self-service": ["self service", "self help"],
    "question": ["question", "query", "enquiry", "inquiry"],
    "complaint": ["complaint", "grievance"],
    "email": ["email", "e mail", "mail", "inbox", "mailbox"],
    "contact centre": ["contact centre", "contact center", "call centre", "call center"],
    "extraction": ["extraction", "extract", "data capture", "ocr", "parse", "parsing", "digitise"],
    "classification": ["classification", "classify", "categorisation", "categorise"],
    "summary": ["summary", "summarise", "summarisation"],
    "recommendation": ["recommendation", "recommend", "recommender", "suggestion", "suggest",
                       "next best action", "next best offer", "you may also like"],
    "forecast": ["forecast", "forecasting", "projection", "outlook"],
    "churn": ["churn", "cancel", "cancellation", "lapse", "non renewal", "not renew"],
    "attrition": ["attrition", "resign", "resignation"],
    "fraud": ["fraud", "fraudulent", "scam"],
    "anomaly": ["anomaly", "anomalous", "outlier", "unusual", "irregular", "abnormal"],
    "failure": ["failure", "fail", "breakdown", "break down", "malfunction", "fault"],
    "maintenance": ["maintenance", "servicing", "upkeep"],
    "sensor": ["sensor", "telemetry", "iot"],
    "equipment": ["equipment", "machine", "machinery"],
    "cash": ["cash", "liquidity"],
    "contract": ["contract", "agreement"],
    "clause": ["clause", "provision"],
    "lawyer": ["lawyer", "counsel", "attorney", "solicitor"],
    "product": ["product", "sku", "item"],
    "lead": ["lead", "prospect"],
    "lead time": ["lead time"],
    "opportunity": ["opportunity", "deal"],
    "shrinkage": ["shrinkage", "shrink", "theft", "stock loss", "pilferage"],
    "duplicate": ["duplicate", "duplicated", "double", "twice"],
    "web shop": ["web shop", "webshop", "online shop", "online store", "e shop", "ecommerce", "e commerce"],
    "basket": ["basket", "cart", "shopping cart"],
    "card payment": ["card payment", "card transaction", "credit card", "debit card", "card"],
    "payment": ["payment", "pay", "paid", "paying"],
    "purchase": ["purchase", "buy", "bought", "buying"],
    "demand": ["demand", "volume"],
    "roster": ["roster", "rota", "shift plan"],
    "answer": ["answer", "reply", "respond", "response"],
    "resolve": ["resolve", "solve"],
    "escalation": ["escalation", "escalate", "hand over", "handover", "hand off"],
    "alert": ["alert", "warning", "warn", "early warning", "alarm"],
    "warehouse": ["warehouse", "distribution centre", "distribution center", "fulfilment centre",
                  "fulfillment center"],
    "store": ["store", "shop", "branch", "outlet"],
    "salary": ["salary", "compensation", "remuneration"],
    "image": ["image", "photo", "picture"],
    "price": ["price", "pricing", "tariff"],
}

GEOGRAPHY = """
Africa|Americas|Asia|Asia Pacific|APAC|EMEA|Europe|European Union|EU|Eurozone|Latin America|LATAM|North America|
South America|Central America|Caribbean|Middle East|MENA|Gulf|GCC|Nordics|Nordic countries|Scandinavia|DACH|Benelux|
Iberia|Baltics|Balkans|Central Europe|Eastern Europe|Western Europe|Southern Europe|Northern Europe|CEE|
Southeast Asia|South Asia|East Asia|Central Asia|Greater China|Oceania|Australasia|ANZ|Sub-Saharan Africa|
North Africa|West Africa|East Africa|Southern Africa|Andean region|Andes|
Afghanistan|Albania|Algeria|Andorra|Angola|Argentina|Armenia|Australia|Austria|Azerbaijan|Bahamas|Bahrain|Bangladesh|
Barbados|Belarus|Belgium|Belize|Benin|Bhutan|Bolivia|Bosnia|Herzegovina|Botswana|Brazil|Brunei|Bulgaria|Burkina Faso|
Burundi|Cambodia|Cameroon|Canada|Cape Verde|Chile|China|Colombia|Comoros|Congo|Costa Rica|Croatia|Cuba|Cyprus|
Czechia|Czech Republic|Denmark|Djibouti|Dominican Republic|Ecuador|Egypt|El Salvador|Eritrea|Estonia|Eswatini|
Ethiopia|Fiji|Finland|France|Gabon|Gambia|Germany|Ghana|Greece|Guatemala|Guinea|Guyana|Haiti|Honduras|Hong Kong|
Hungary|Iceland|India|Indonesia|Iran|Iraq|Ireland|Israel|Italy|Ivory Coast|Jamaica|Japan|Kazakhstan|Kenya|Korea|
Kosovo|Kuwait|Kyrgyzstan|Laos|Latvia|Lebanon|Lesotho|Liberia|Libya|Liechtenstein|Lithuania|Luxembourg|Macau|
Madagascar|Malawi|Malaysia|Maldives|Mali|Malta|Mauritania|Mauritius|Mexico|Moldova|Monaco|Mongolia|Montenegro|
Morocco|Mozambique|Myanmar|Namibia|Nepal|Netherlands|Holland|New Zealand|Nicaragua|Niger|Nigeria|North Macedonia|
Norway|Oman|Pakistan|Panama|Papua New Guinea|Paraguay|Peru|Philippines|Poland|Portugal|Qatar|Romania|Russia|Rwanda|
Saudi Arabia|Senegal|Serbia|Sierra Leone|Singapore|Slovakia|Slovenia|Somalia|South Africa|Spain|Sri Lanka|Sudan|
Suriname|Sweden|Switzerland|Syria|Taiwan|Tajikistan|Tanzania|Thailand|Togo|Trinidad|Tunisia|Turkey|Turkmenistan|
Uganda|Ukraine|United Arab Emirates|UAE|United Kingdom|UK|Great Britain|Britain|England|Scotland|Wales|
Northern Ireland|United States|USA|Uruguay|Uzbekistan|Venezuela|Vietnam|Yemen|Zambia|Zimbabwe
"""
# Market segments: whom a use case serves, like geography where; neither is the problem.
MARKET_SEGMENTS = """
consumer|consumers|SME|SMEs|small business|small and medium enterprises|mid-market|enterprise|corporate|public sector|
government|wholesale|retail|franchise|online|B2B|B2C
"""
MARKET_NAMES = [name.strip() for names in (GEOGRAPHY, MARKET_SEGMENTS) for name in names.split("|") if name.strip()]

# --- Text to terms ---------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_NUMBER_OR_VERSION = re.compile(r"v?\d+(st|nd|rd|th|s)?")
# American spellings meet British ones (optimize → optimise) before stemming.
_AMERICAN_IZE = re.compile(r"(?<=[a-z]{3})iz(e|es|ed|ing|ation|ations|er|ers)\b")
_stem_word = snowballstemmer.stemmer("english").stemWord


@lru_cache(maxsize=None)
def _stem(word: str) -> str:
    return _stem_word(word)


def _words(text: str) -> list[str]:
    return _WORD.findall(_AMERICAN_IZE.sub(r"is\1", text.lower()))


def _phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(_stem(word) for word in _words(phrase))


_DROPPED, _PROBLEM, _MARKET = 0, 1, 2
# Stemmed phrase → (what it is, its canonical term).
_PHRASES: dict[tuple[str, ...], tuple[int, str]] = {}
for _canonical, _variants in SYNONYMS.items():
    for _variant in _variants:
        _PHRASES[_phrase_key(_variant)] = (_PROBLEM, _canonical)
for _name in MARKET_NAMES:
    _PHRASES[_phrase_key(_name)] = (_MARKET, _name)
for _phrase in BOILERPLATE:
    if " " in _phrase:
        _PHRASES[_phrase_key(_phrase)] = (_DROPPED, _phrase)
_PHRASE_STARTS = {key[0] for key in _PHRASES}
_LONGEST_PHRASE = max(len(key) for key in _PHRASES)


def _known_phrase(stems: list[str], position: int) -> tuple[tuple[int, str] | None, int]:
    """The longest known phrase starting at `position`, and its length in words."""
    if stems[position] in _PHRASE_STARTS:
        for length in range(min(_LONGEST_PHRASE, len(stems) - position), 0, -1):
            known = _PHRASES.get(tuple(stems[position:position + length]))
            if known is not None:
                return known, length
    return None, 1


def _scan(text: str):
    """(kind, term, surface words) for each term of `text`."""
    words = _words(text)
    stems = [_stem(word) for word in words]
    position = 0
    while position < len(words):
        known, length = _known_phrase(stems, position)
        word = words[position]
        if known is not None:
            yield known[0], known[1], " ".join(words[position:position + length])
        elif word in FUNCTION_WORDS or word in BOILERPLATE or _NUMBER_OR_VERSION.fullmatch(word):
            yield _DROPPED, word, word
        else:
            yield _PROBLEM, stems[position], word
        position += length


@lru_cache(maxsize=None)
def terms(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The problem terms and the market terms (geography, segments) of `text`."""
    problem, market = [], []
    for kind, term, _ in _scan(text):
        if kind == _PROBLEM:
            problem.append(term)
        elif kind == _MARKET:
            market.append(term)
    return tuple(problem), tuple(market)


def readable_terms(texts) -> dict[str, str]:
    """Each problem term of `texts` → the word that most often stands for it there."""
    surfaces: dict[str, Counter] = {}
    for text in texts:
        for kind, term, surface in _scan(text):
            if kind == _PROBLEM:
                surfaces.setdefault(term, Counter())[surface] += 1
    return {
        term: term if term in SYNONYMS else min(counts, key=lambda surface: (-counts[surface], surface))
        for term, counts in surfaces.items()
    }


# --- Vectors -----------------------------------------------------------------------------------


@dataclass
class Vectors:
    """The use cases as L2-normalised TF-IDF vectors of their problem terms."""

    problem: sp.csr_matrix
    problem_terms: list[str]
    # Rows with the same problem terms in each field share a profile (and their vector).
    profile: np.ndarray
    # Rows naming the same geography and market segments share a market.
    market: np.ndarray

    def weights(self, row: int) -> dict[int, float]:
        """The row's terms and their weights (a few dozen: cheaper than slicing the matrix)."""
        start, end = self.problem.indptr[row], self.problem.indptr[row + 1]
        return dict(zip(self.problem.indices[start:end].tolist(), self.problem.data[start:end].tolist()))

    def similarity(self, a: int, b: int) -> float:
        first, second = self.weights(a), self.weights(b)
        if len(first) > len(second):
            first, second = second, first
        return sum(weight * second.get(term, 0.0) for term, weight in first.items())


def _tf_idf(counts: sp.csr_matrix) -> sp.csr_matrix:
    """Sublinear TF (log(1 + weighted count)) times smoothed IDF, rows L2-normalised (an
    empty row stays empty)."""
    rows = counts.shape[0]
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((1 + rows) / (1 + document_frequency)) + 1
    weighted = counts.copy()
    weighted.data = np.log1p(weighted.data) * idf[weighted.indices]
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    return sp.csr_matrix(sp.diags(1 / norms) @ weighted)


def _intern(values) -> tuple[np.ndarray, list]:
    """Index of each value in the list of distinct values (in order of first appearance)."""
    index: dict = {}
    codes = np.fromiter((index.setdefault(value, len(index)) for value in values), dtype=np.int64)
    return codes, list(index)


def vectorise(fields: list[tuple[list[str], float]]) -> Vectors:
    """Vectors of the rows whose texts are given field by field: (texts over the rows, weight).

    Each distinct text of a field is analysed once: portfolios repeat capabilities,
    decision statements and summaries.
    """
    rows = len(fields[0][0])
    vocabulary: dict[str, int] = {}
    counts = []
    profile_keys, market_terms = [], []
    for texts, weight in fields:
        codes, distinct = _intern(texts)
        analysed = [terms(text) for text in distinct]
        indptr, indices, data = [0], [], []
        for problem, _ in analysed:
            counted = Counter(vocabulary.setdefault(term, len(vocabulary)) for term in problem)
            indices.extend(counted)
            data.extend(counted.values())
            indptr.append(len(indices))
        counts.append((codes, indptr, indices, np.array(data, dtype=np.float64) * weight))
        problem_codes, _ = _intern(tuple(sorted(problem)) for problem, _ in analysed)
        profile_keys.append(problem_codes[codes])
        market_terms.append([frozenset(analysed[code][1]) for code in codes])

    total = sp.csr_matrix((rows, len(vocabulary)))
    for codes, indptr, indices, data in counts:
        total = total + sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, len(vocabulary)))[codes]
    _, profile = np.unique(np.column_stack(profile_keys), axis=0, return_inverse=True)
    market, _ = _intern(frozenset().union(*named) for named in zip(*market_terms))
    return Vectors(problem=_tf_idf(total), problem_terms=list(vocabulary), profile=profile.ravel(), market=market)


# --- Candidates --------------------------------------------------------------------------------


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """For a sorted array of group keys, each element's position within its group."""
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    return np.arange(len(groups)) - np.repeat(starts, np.diff(np.r_[starts, len(groups)]))


def _single_unit(codes: np.ndarray, units: np.ndarray, count: int) -> np.ndarray:
    """For each code, the one business unit of its rows, or -1 when they are in several."""
    lowest = np.full(count, np.iinfo(np.int64).max)
    highest = np.full(count, -1)
    np.minimum.at(lowest, codes, units)
    np.maximum.at(highest, codes, units)
    return np.where(lowest == highest, lowest, -1)


def _neighbour_profiles(vectors: Vectors, units: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (p, q), p <= q, of profiles at `threshold` or more, with their similarity: each
    profile's nearest others in other business units, by an index that leaves out the
    commonest terms."""
    profiles = int(vectors.profile.max()) + 1
    _, representative = np.unique(vectors.profile, return_index=True)
    matrix = vectors.problem[representative]
    unit = _single_unit(vectors.profile, units, profiles)

    postings = np.bincount(matrix.indices, minlength=matrix.shape[1])
    indexed = (postings <= max(MAX_POSTINGS, profiles // 100)).astype(np.float64)
    index = sp.csr_matrix(matrix @ sp.diags(indexed))
    index.eliminate_zeros()
    index_transposed = sp.csr_matrix(index.T)

    found = []
    for start in range(0, profiles, PROFILE_CHUNK):
        product = sp.coo_matrix(index[start:start + PROFILE_CHUNK] @ index_transposed)
        p, q, score = product.row + start, product.col, product.data
        # A profile whose rows all sit in one unit has no duplicate in that unit, itself included.
        other_unit = (unit[p] == -1) | (unit[p] != unit[q])
        p, q, score = p[other_unit], q[other_unit], score[other_unit]
        order = np.lexsort((q, -score, p))
        p, q = p[order], q[order]
        nearest = _rank_within(p) < NEIGHBOUR_PROFILES
        found.append(np.column_stack((p[nearest], q[nearest])))
    pairs = np.unique(np.sort(np.concatenate(found), axis=1), axis=0)

    similarity = np.asarray(matrix[pairs[:, 0]].multiply(matrix[pairs[:, 1]]).sum(axis=1)).ravel()
    similar = similarity >= threshold
    return pairs[similar], similarity[similar]


def candidate_pairs(
    vectors: Vectors, units: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row pairs (a < b) in different business units with a similarity of `threshold` or more.

    Rows of one profile serving one market form a variant. For each pair of similar
    profiles, each variant of the one meets the variant of the other serving the same
    market, if there is one, and the other's first variant; two variants that meet pair
    their rows, each row with the first `PARTNERS_PER_PROFILE` rows of the other variant.
    """
    profile_pairs, profile_similarity = _neighbour_profiles(vectors, units, threshold)
    if not len(profile_pairs):
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)

    markets = int(vectors.market.max()) + 1
    variant_keys, variant = np.unique(vectors.profile * markets + vectors.market, return_inverse=True)
    variant = variant.ravel()
    variant_profile, variant_market = variant_keys // markets, variant_keys % markets
    profiles = int(vectors.profile.max()) + 1
    first_variant = np.searchsorted(variant_profile, np.arange(profiles))
    variants_per_profile = np.diff(np.r_[first_variant, len(variant_keys)])

    # Each profile pair both ways: the variants of the one look for partners in the other.
    looking = np.concatenate((profile_pairs, profile_pairs[:, ::-1]))
    looking_similarity = np.concatenate((profile_similarity, profile_similarity))
    repeats = variants_per_profile[looking[:, 0]]
    seeker = np.repeat(first_variant[looking[:, 0]], repeats) + _rank_within(
        np.repeat(np.arange(len(looking)), repeats)
    )
    other = np.repeat(looking[:, 1], repeats)
    seeker_similarity = np.repeat(looking_similarity, repeats)
    wanted = other * markets + variant_market[seeker]
    position = np.minimum(np.searchsorted(variant_keys, wanted), len(variant_keys) - 1)
    same_market = variant_keys[position] == wanted
    variant_pairs = np.concatenate((
        np.column_stack((seeker[same_market], position[same_market])),
        np.column_stack((seeker, first_variant[other])),
    ))
    variant_similarity = np.concatenate((seeker_similarity[same_market], seeker_similarity))
    variant_pairs, distinct = np.unique(np.sort(variant_pairs, axis=1), axis=0, return_index=True)
    variant_similarity = variant_similarity[distinct]

    rows_by_variant = np.argsort(variant, kind="stable")
    variant_start = np.searchsorted(variant[rows_by_variant], np.arange(len(variant_keys)))
    variant_size = np.diff(np.r_[variant_start, len(rows_by_variant)])
    a, b, similarity = [], [], []
    for every, first in (variant_pairs.T, variant_pairs[:, ::-1].T):
        # Every row of one variant with the first rows of the other.
        taken = np.minimum(variant_size[first], PARTNERS_PER_PROFILE)
        pair = np.repeat(np.arange(len(variant_pairs)), variant_size[every] * taken)
        offset = _rank_within(pair)
        a.append(rows_by_variant[variant_start[every][pair] + offset // taken[pair]])
        b.append(rows_by_variant[variant_start[first][pair] + offset % taken[pair]])
        similarity.append(variant_similarity[pair])
    a, b, similarity = np.concatenate(a), np.concatenate(b), np.concatenate(similarity)
    other_unit = units[a] != units[b]
    a, b, similarity = np.minimum(a, b)[other_unit], np.maximum(a, b)[other_unit], similarity[other_unit]
    _, distinct = np.unique(np.column_stack((a, b)), axis=0, return_index=True)
    return a[distinct], b[distinct], similarity[distinct]


# --- Groups ------------------------------------------------------------------------------------


def form_groups(
    a: np.ndarray, b: np.ndarray, score: np.ndarray, units: np.ndarray, vectors: Vectors, threshold: float
) -> list[list[int]]:
    """Groups of rows, best pairs first; see the module's docstring for the rules."""
    known = {(int(x), int(y)): float(s) for x, y, s in zip(a, b, score)}
    group_of: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    # On equal similarity, the pair serving the same market first: copies pair up by market.
    same_market = vectors.market[a] == vectors.market[b]
    for pair in np.lexsort((b, a, ~same_market, -score)):
        x, y = int(a[pair]), int(b[pair])
        joining = [members[group_of[row]] if row in group_of else [row] for row in (x, y)]
        if joining[0] is joining[1] or len(joining[0]) + len(joining[1]) > MAX_GROUP_SIZE:
            continue
        if {units[row] for row in joining[0]} & {units[row] for row in joining[1]}:
            continue
        cross = [(min(u, v), max(u, v)) for u in joining[0] for v in joining[1]]
        for edge in cross:
            if edge not in known:
                known[edge] = vectors.similarity(*edge)
        if sum(known[edge] for edge in cross) < threshold * len(cross):
            continue
        merged = sorted(joining[0] + joining[1])
        for side in joining:
            members.pop(side[0], None)
        members[merged[0]] = merged
        for row in merged:
            group_of[row] = merged[0]
    return [group for group in members.values() if len(group) > 1]


# --- Findings ----------------------------------------------------------------------------------


def severity(stages: list[str]) -> str:
    if sum(stage == Stage.PRODUCTION for stage in stages) >= 2:
        return SEVERITY_ORDER[3]  # the same thing run and maintained twice: waste happening now
    level = min(len(stages) - 2, 2)
    if sum(stage in BUILT_STAGES for stage in stages) >= 2:
        level += 1
    return SEVERITY_ORDER[min(level, 2)]


def _listed(names: list[str]) -> str:
    if len(names) > 3:
        return f"{len(names)} business units"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


@dataclass
class _UseCases:
    """The judged use cases, column by column, in order of id."""

    ids: list[int]
    keys: list[str]
    units: np.ndarray
    decisions: list[int]
    stages: list[str]
    titles: list[str]
    summaries: list[str]
    capabilities: list[str]
    statements: list[str]


def _load(as_of: datetime.date) -> _UseCases | None:
    rows = list(
        UseCase.objects.annotate(stage_on=stage_on(as_of))
        .filter(stage_on__in=LIVE_STAGES)
        .order_by("pk")
        .values_list("pk", "external_id", "business_unit_id", "decision_id", "stage_on", "title", "summary",
                     "capability", "decision__statement", "decision__is_defined")
    )
    if not rows:
        return None
    ids, external_ids, units, decisions, stages, titles, summaries, capabilities, statements, defined = map(list, zip(*rows))
    # A placeholder's statement ("not yet defined") says nothing about the problem, and every
    # use case of an imported inventory shares it: it is left out, as if blank.
    statements = [statement if is_defined else "" for statement, is_defined in zip(statements, defined)]
    return _UseCases(
        ids=ids,
        keys=[external_id or str(pk) for pk, external_id in zip(ids, external_ids)],
        units=np.array(units, dtype=np.int64),
        decisions=decisions,
        stages=stages,
        titles=titles,
        summaries=summaries,
        capabilities=capabilities,
        statements=statements,
    )


def _shared_terms(group: list[int], use_cases: _UseCases, vectors: Vectors) -> list[str]:
    """The problem terms that add the most to the similarity of the group's pairs."""
    total: Counter = Counter()
    squares: Counter = Counter()
    for row in group:
        for term, weight in vectors.weights(row).items():
            total[term] += weight
            squares[term] += weight * weight
    # A term's part of the pairs' similarity: the sum, over pairs, of its weights' product.
    contribution = {term: (total[term] ** 2 - squares[term]) / 2 for term in total}
    shared = [term for term, part in contribution.items() if part > 1e-12]
    best = sorted(shared, key=lambda term: (-contribution[term], vectors.problem_terms[term]))[:SHARED_TERMS]
    readable = readable_terms(
        text for row in group for text in
        (use_cases.titles[row], use_cases.summaries[row], use_cases.capabilities[row], use_cases.statements[row])
    )
    return [readable[vectors.problem_terms[term]] for term in best]


def _finding(group: list[int], use_cases: _UseCases, vectors: Vectors, unit_names: dict[int, str]) -> Detected:
    anchor = group[0]
    pairs = list(itertools.combinations(group, 2))
    scores = np.array([vectors.similarity(x, y) for x, y in pairs])
    capabilities = Counter(use_cases.capabilities[row].strip() for row in group if use_cases.capabilities[row].strip())
    # The commonest capability; on a tie, the one named first (members are in order of id).
    capability = capabilities.most_common(1)[0][0] if capabilities else "the same capability"
    units = sorted({unit_names[use_cases.units[row]] for row in group})
    statement = _shortened(use_cases.statements[anchor], STATEMENT_IN_TITLE)
    title = f"{len(group)} use cases in {_listed(units)} build {capability}"
    if statement:
        title += f" for “{statement}”"
    ids = [use_cases.ids[row] for row in group]
    return Detected(
        kind=KIND,
        identity=(use_cases.ids[anchor],),
        severity=severity([use_cases.stages[row] for row in group]),
        title=_shortened(title, 300),
        use_case_ids=ids,
        decision_ids=sorted({use_cases.decisions[row] for row in group}),
        detail={
            "similarity": {"min": round(float(scores.min()), 3), "mean": round(float(scores.mean()), 3)},
            "pairs": [
                {"use_cases": [use_cases.keys[x], use_cases.keys[y]], "score": round(float(score), 3)}
                for (x, y), score in sorted(zip(pairs, scores), key=lambda pair: (-pair[1], pair[0]))
            ],
            "shared_terms": _shared_terms(group, use_cases, vectors),
            "business_units": units,
        },
        substance=tuple(ids),
    )


def detect(*, as_of: datetime.date, policy) -> list[Detected]:
    use_cases = _load(as_of)
    if use_cases is None:
        return []
    threshold = policy.duplicate_min_similarity
    vectors = vectorise([
        (use_cases.titles, TITLE_WEIGHT), (use_cases.summaries, SUMMARY_WEIGHT),
        (use_cases.capabilities, CAPABILITY_WEIGHT), (use_cases.statements, STATEMENT_WEIGHT),
    ])
    a, b, score = candidate_pairs(vectors, use_cases.units, threshold)
    groups = form_groups(a, b, score, use_cases.units, vectors, threshold)
    unit_ids = {int(use_cases.units[row]) for group in groups for row in group}
    unit_names = dict(BusinessUnit.objects.filter(pk__in=unit_ids).values_list("pk", "name"))
    return [_finding(group, use_cases, vectors, unit_names) for group in sorted(groups)]
