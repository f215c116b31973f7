"""Text to terms: what a use case's words say about the task it does, and the names it carries.

A **task term** is a word's stem (``invoices`` and ``invoice`` are one term) or a canonical term
for an abbreviation, a spelling or a fixed phrase of software and AI vocabulary (``e-mail`` →
email, ``interactive voice response`` and ``IVR`` → voice bot, ``optical character
recognition`` → OCR). These equivalences hold in any organisation; nothing here is tuned to one
industry, and a source can add its own (``SOURCE_SYNONYMS``, ``SOURCE_STOP_WORDS``). Function
words, registry boilerplate (``model``, ``use case``), the benefits every description claims
(``faster``, ``more accurate``), cadence, numbers, places and market segments (where and for
whom, not what) are no terms.

A **name** says who, not what: the acronym of a business unit or of a sub-unit (``NIST``,
``USPTO``) is never a task term, so a name shared by two use cases makes no duplicate.
A **product** is a name that does say what is used: a word written like a brand (``ServiceNow``,
``FOIAXpress``, ``GitHub``, ``M365``) or a vendor a source names in its own column (``Skydio``).
Products are kept apart from task terms: evidence of their own (see ``scoring``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import snowballstemmer

FUNCTION_WORDS = frozenset("""
a about above across after again against all almost along also although always am among an and another any are
around as at be because been before being below between both but by can could did do does doing done down during
each either else enough etc even ever every few for from further get gets go goes had has have having he her here
hers him his how however i if in into is it its itself just last least less many may me might more most much must my
near neither next no nor not of off often on once one only onto or other others our ours out over own per rather
same several shall she should since so some such than that the their theirs them then there these they this those
though through thus to too under until up upon us very via was we were what when where whether which while who
whom whose why will with within without would yet you your yours
pre non re co sub multi semi anti post inter intra
""".split())

# Words any use case could carry: they tell nothing about the task. The benefits every
# description claims (faster, more accurate, less manual effort) say why, not what.
BOILERPLATE = frozenset("""
ai ml model models use uses used using case cases scope pilot poc tool tools solution solutions based first new
today tomorrow tonight daily day days weekly week weeks monthly month months quarterly quarter quarters yearly
year years annual annually hourly hour hours
improve improves improved improving improvement improvements increase increases increased increasing
reduce reduces reduced reducing reduction efficiency efficient efficiently productivity productive
accuracy accurate accurately faster quickly quick speed time timely manual manually effort efforts cost costs
better enhance enhanced enhances enhancing enable enables enabled leverage leverages leveraging ensure ensures
help helps helping allow allows provide provides provided providing support supports supporting
""".split()) | {"machine learning", "artificial intelligence", "proof of concept", "use case"}

# Where and for whom a use case runs is not what it does: unrelated use cases of one market
# would look alike.
PLACES = """
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
SEGMENTS = "consumer|consumers|SME|SMEs|small business|mid-market|enterprise|public sector|B2B|B2C|retail|wholesale|franchise|online"
MARKETS = frozenset(name.strip().lower() for names in (PLACES, SEGMENTS) for name in names.split("|") if name.strip())

# Canonical term: abbreviations, spellings and fixed phrases of software and AI that mean it.
SYNONYMS = {
    "email": ["email", "e mail", "electronic mail"],
    "chatbot": ["chatbot", "chat bot", "virtual agent", "virtual assistant", "conversational agent",
                "conversational assistant", "chat assistant"],
    "voice bot": ["voice bot", "voicebot", "voice assistant", "voice agent", "interactive voice response", "ivr"],
    "ocr": ["ocr", "optical character recognition", "optical character reader"],
    "speech recognition": ["speech recognition", "automatic speech recognition", "asr", "speech to text", "stt"],
    "text to speech": ["text to speech", "tts", "speech synthesis"],
    "llm": ["llm", "large language model"],
    "nlp": ["nlp", "natural language processing"],
    "generative": ["generative", "genai", "gen ai"],
    "rpa": ["rpa", "robotic process automation"],
    "service desk": ["service desk", "help desk", "helpdesk"],
    "foia": ["foia", "freedom of information act", "freedom of information"],
    "code": ["code", "coding", "source code"],
    "summary": ["summary", "summarize", "summarise", "summarization", "summarisation"],
    "faq": ["faq", "frequently asked question"],
}

# What every row of a source says, and phrases a source spells its own way.
SOURCE_STOP_WORDS = {
    "omb-2025": frozenset("agency agencies federal government department mission staff".split()),
    "omb-2024": frozenset("agency agencies federal government department mission staff".split()),
}
SOURCE_SYNONYMS: dict[str, dict[str, list[str]]] = {}

# Words of a vendor cell that name no vendor: a company's legal form, who built it in house,
# or a web address.
NOT_A_VENDOR = frozenset("""
inc llc corp corporation ltd co company companies technologies group federal services service provider providers
hosting saas contractor contractors team teams staff house internal developed development open source none
not available applicable unknown various multiple other n a na tbd yes no https http www com gov org
""".split())
# A vendor is named in at most this many words.
VENDOR_WORDS = 3

_WORD = re.compile(r"[A-Za-z0-9]+")
# Written like a brand: inner capitals (ServiceNow, GitHub, FOIAXpress, iPhone) or letters
# joined to digits (M365, GPT4); not all capitals (an acronym) nor a capitalised word.
_BRAND = re.compile(r"(?=.*[a-z])(?=.*[A-Z])(?![A-Z][a-z]+$)(?![A-Z]+s$)[A-Za-z]{3,}|[A-Za-z]{1,4}\d{1,3}[A-Za-z]?")
_ACRONYM = re.compile(r"[A-Z][A-Z&]{1,9}")
_NUMBER_OR_VERSION = re.compile(r"v?\d+(st|nd|rd|th|s)?|fy\d*|q[1-4]")
# The longest vendor name matched in a text, in words.
PRODUCT_WORDS = 4
_stem_word = snowballstemmer.stemmer("english").stemWord


def words_of(text: str) -> list[tuple[str, bool]]:
    """Each word of `text`, and whether it labels a record number: written right before "#"
    ("[2024 INV#DOI-69]", "Ticket#"), it is an inventory's bookkeeping, not the task."""
    return [(match.group(), text.startswith("#", match.end())) for match in _WORD.finditer(text)]


@lru_cache(maxsize=None)
def stem(word: str) -> str:
    return _stem_word(word)


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(stem(word.lower()) for word in _WORD.findall(phrase))


class Vocabulary:
    """The analyser of one source's texts, knowing the inventory's names and products."""

    def __init__(self, *, names: Iterable[str] = (), products: Iterable[str] = (), words: Iterable[str] = (),
                 source: str = ""):
        """`names`: acronyms of units; `products`: vendors the source names; `words`: the
        inventory's ordinary words (written in lower case somewhere): a vendor called
        ``Integration`` or ``Wildfire`` is found in its own vendor cell, not in every text."""
        self.stop = FUNCTION_WORDS | BOILERPLATE | MARKETS | SOURCE_STOP_WORDS.get(source, frozenset())
        self.names = frozenset(names)
        ordinary = frozenset(stem(word) for word in words)
        self.products = frozenset(key for key in map(_key, products)
                                  if key and not all(word in self.stop for word in key)
                                  and not (len(key) == 1 and key[0] in ordinary))
        phrases: dict[tuple[str, ...], str] = {}
        for canonical, variants in {**SYNONYMS, **SOURCE_SYNONYMS.get(source, {})}.items():
            for variant in variants:
                phrases[_key(variant)] = canonical
        for phrase in self.stop:
            if " " in phrase:
                phrases[_key(phrase)] = ""
        self.product_starts = {key[0] for key in self.products}
        self.phrases = phrases
        self.longest = max(len(key) for key in phrases)
        self.starts = {key[0] for key in phrases}
        self._terms: dict[str, tuple[str, ...]] = {}
        self._products: dict[tuple[str, str], frozenset[str]] = {}

    def _phrase_at(self, stems: list[str], position: int) -> int:
        """The length in words of the longest known phrase starting at `position`, 0 if none."""
        if stems[position] in self.starts:
            for length in range(min(self.longest, len(stems) - position), 0, -1):
                if tuple(stems[position:position + length]) in self.phrases:
                    return length
        return 0

    def _product_at(self, stems: list[str], position: int) -> int:
        if stems[position] not in self.product_starts:
            return 0
        for length in range(min(PRODUCT_WORDS, len(stems) - position), 0, -1):
            if tuple(stems[position:position + length]) in self.products:
                return length
        return 0

    def scan(self, text: str):
        """(term, surface words) for each task term of `text`: products and names are none."""
        found = words_of(text)
        surfaces, labelling = [word for word, _ in found], [label for _, label in found]
        words = [surface.lower() for surface in surfaces]
        stems = [stem(word) for word in words]
        position = 0
        while position < len(words):
            if length := self._phrase_at(stems, position):
                if canonical := self.phrases[tuple(stems[position:position + length])]:
                    yield canonical, " ".join(words[position:position + length])
                position += length
            elif length := self._product_at(stems, position):
                position += length
            else:
                surface, word = surfaces[position], words[position]
                if not (word in self.stop or surface in self.names or len(word) == 1 or labelling[position]
                        or _NUMBER_OR_VERSION.fullmatch(word) or _BRAND.fullmatch(surface)):
                    yield stems[position], word
                position += 1

    def terms(self, text: str) -> tuple[str, ...]:
        if (found := self._terms.get(text)) is None:
            found = self._terms[text] = tuple(term for term, _ in self.scan(text))
        return found

    def products_in(self, *texts: str, vendor_cell: str = "") -> frozenset[str]:
        """The products `texts` name (brand-like words, the vendors the inventory names) and
        those of the use case's own vendor cell."""
        return frozenset().union(*map(self._products_in, texts)) | self._vendors_in(vendor_cell)

    def _vendors_in(self, cell: str) -> frozenset[str]:
        if (found := self._products.get(("vendor", cell))) is None:
            named = {" ".join(_WORD.findall(vendor)).lower() for vendor in vendors(cell)}
            found = self._products[("vendor", cell)] = self._known_products(named)
        return found

    def _known_products(self, named: set[str]) -> frozenset[str]:
        return frozenset(product for product in named - {name.lower() for name in self.names}
                         if not all(stem(word) in self.stop for word in product.split()))

    def _products_in(self, text: str) -> frozenset[str]:
        if (found := self._products.get(("text", text))) is not None:
            return found
        surfaces = _WORD.findall(text)
        named = {surface.lower() for surface in surfaces
                 if _BRAND.fullmatch(surface) and not _NUMBER_OR_VERSION.fullmatch(surface.lower())}
        stems = [stem(surface.lower()) for surface in surfaces]
        for position in range(len(stems)):
            if length := self._product_at(stems, position):
                named.add(" ".join(surfaces[position:position + length]).lower())
        found = self._products[("text", text)] = self._known_products(named)
        return found

    def readable(self, texts: Iterable[str]) -> dict[str, str]:
        """Each task term of `texts` → the words that most often stand for it there."""
        surfaces: dict[str, Counter] = {}
        for text in texts:
            for term, surface in self.scan(text):
                surfaces.setdefault(term, Counter())[surface] += 1
        return {term: min(counts, key=lambda surface: (-counts[surface], surface)) for term, counts in surfaces.items()}


def acronyms(name: str) -> list[str]:
    """The acronyms in a unit's name (``National Institute of … (NIST)``, ``VHA: Veterans …``),
    as written: ``ICE`` the agency is a name, ``ice`` a word. Short ones (``IT``) and those of
    the vocabulary (``FOIA``) say what, not who."""
    known = {word for variants in SYNONYMS.values() for variant in variants for word in variant.split()}
    return [word for word in _WORD.findall(name)
            if _ACRONYM.fullmatch(word) and len(word) >= 3 and word.lower() not in known]


def vendors(cell: str) -> list[str]:
    """The vendors a source's vendor cell names (``Microsoft; ServiceNow, Inc.``): parts of a
    few capitalised words, less their legal form; none for a blank or a sentence."""
    found = []
    for part in re.split(r"[,;/|()\[\]]| and ", cell):
        written = _WORD.findall(part)
        words = [word for word in written if word.lower() not in NOT_A_VENDOR]
        if (0 < len(words) <= VENDOR_WORDS and len(written) <= VENDOR_WORDS + 1
                and all(word[0].isupper() or word[0].isdigit() for word in words) and len(" ".join(words)) >= 3
                and not all(word.lower() in FUNCTION_WORDS | BOILERPLATE for word in words)):
            found.append(" ".join(words))
    return found
