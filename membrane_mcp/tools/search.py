"""Local ranking of actions by intent, over the cached catalog.

BM25 over weighted fields of each action (name, key, app, description, and the words of its
input schema: property descriptions and enum values, which is where a generic action such as
Vtiger's ``create-record`` names the modules it works on, with their labels: "Potentials
(Deals)", "HelpDesk (Tickets)"). On top of that:

* light stemming, CamelCase splitting ("HelpDesk" is also "help desk") and record-id shapes
  ("12x34" matches an action whose text shows an id like "12x5");
* a CRM synonym table; each query word is one concept scored by its best-matching variant,
  so a word's synonyms never add up;
* verbs: "show"/"view" mean get when the query carries an id and find otherwise; "log",
  "open", "record" lead an imperative as create; a participle ("created time") is no verb; a query
  with no verb at all is read as a search;
* an app named in the query ("in vtiger"), or an id shape only one app uses ("12x5"), puts
  that app's actions first: the agent passes on a constraint it was given;
* a query naming a kind of object ("deals") discounts actions on some other specific object
  (``list-modules``), not the generic ones;
* generic actions of an app (keys on "record(s)" or "module(s)") share the objects any of
  them lists, so ``query-records`` knows Vtiger's deals as well as ``create-record`` does.

Postings are precomputed per term, so a query costs a few dictionary walks.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, compress, repeat
from operator import add, itemgetter, mul
from typing import Any

from membrane_mcp.observability import observe_search
from membrane_mcp.tools.catalog import ToolEntry

_RAW_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_ID_SHAPE = re.compile(r"^[0-9]+x[0-9]+$")
_AMOUNT = re.compile(r"^[0-9]+(k|m|bn|st|nd|rd|th)?$")
ID_SHAPE_TOKEN = "idxid"  # what "12x34" also yields; stems to itself, so it survives tokenize

STOP_WORDS = frozenset(
    "a an the of in on for to by with from and or any my our their this that these those is are be "
    "me i we it its into at as some every each please can you do does using via want need would "
    "could should let what which who how there have has we us your them they so just also".split()
)

# Multi-word phrases read as one word before anything else.
PHRASES: dict[tuple[str, ...], str] = {
    ("how", "many"): "count",
    ("number", "of"): "count",
    ("at", "once"): "bulk",
    ("in", "bulk"): "bulk",
    ("who", "am", "i"): "whoami",
    ("logged", "in"): "whoami",
    ("look", "up"): "lookup",
    ("set", "up"): "create",
    ("sign", "up"): "create",
    ("time", "entry"): "timesheet",
    ("time", "entries"): "timesheet",
}

# Each group is one concept; a query word in a group also matches the others (at a discount).
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("deal", "potential", "opportunity", "pipeline"),
    ("ticket", "helpdesk", "case", "issue", "incident"),
    ("company", "account", "organization", "organisation", "customer", "client", "org"),
    ("contact", "person", "people"),
    ("user", "person", "people", "member", "employee", "staff", "colleague"),
    ("lead", "prospect"),
    ("vendor", "supplier"),
    (
        "find",
        "search",
        "query",
        "lookup",
        "filter",
        "where",
        "whose",
        "named",
        "called",
        "matching",
        "locate",
    ),
    ("get", "retrieve", "fetch", "read", "detail"),
    ("list", "all", "browse", "enumerate", "latest", "recent", "newest", "sort", "every", "pull", "query"),
    ("create", "add", "new", "insert", "make", "schedule", "publish", "register", "upload"),
    (
        "update",
        "edit",
        "change",
        "modify",
        "set",
        "rename",
        "mark",
        "deactivate",
        "activate",
        "assign",
        "revise",
    ),
    ("delete", "remove", "erase", "destroy", "drop", "trash"),
    ("describe", "metadata", "field", "schema", "structure", "picklist", "mandatory", "required"),
    ("module", "type", "entity", "object", "model"),
    ("whoami", "current", "myself", "authenticated"),
    ("count", "total", "tally"),
    ("email", "mail"),
    ("phone", "mobile", "telephone"),
    ("invoice", "bill", "billing"),
    ("quote", "quotation", "estimate", "proposal"),
    ("story", "article", "post"),
    ("space", "channel", "workspace"),
    ("task", "todo", "activity"),
    ("event", "meeting", "appointment", "calendar", "activity"),
    ("campaign", "marketing"),
    ("product", "item", "sku"),
    ("document", "file", "attachment", "pdf", "deck", "brochure", "asset", "content"),
    ("import", "bulk", "spreadsheet", "load"),
    ("export", "download", "csv", "dump", "backup"),
    ("mass", "bulk", "many", "multiple", "batch"),
    ("global", "everything", "everywhere", "across", "anywhere"),
    ("related", "belong", "linked", "associated", "child", "children"),
    ("link", "attach", "associate", "connect", "relate"),
    ("unlink", "detach", "disconnect", "dissociate", "unrelate"),
    ("timesheet", "hour", "booking", "worklog"),
    ("expense", "expenditure", "spend", "reimbursement"),
    ("group", "team"),
    ("setting", "preference", "configuration", "config"),
)

# "show" and its kin mean get with an id and list/find without one.
VIEW_WORDS = frozenset({"show", "view", "see", "display", "look"})
# Nouns that are verbs when they open an imperative ("log a call", "open a ticket"), and only then.
LEADING_VERBS = {"record": "create", "log": "create", "open": "create", "file": "create", "book": "create"}
VERB_CONCEPTS = (
    "find",
    "get",
    "list",
    "create",
    "update",
    "delete",
    "describe",
    "count",
    "import",
    "export",
    "link",
    "unlink",
)

FIELD_WEIGHTS = {"name": 3.0, "key": 2.0, "app": 1.0, "description": 1.0, "schema": 0.6}
FIELD_B = {"name": 0.6, "key": 0.6, "app": 0.0, "description": 0.5, "schema": 0.0}
K1 = 1.2
SYNONYM_WEIGHT = 0.5
IMPLICIT_VERB_WEIGHT = 0.35
APP_FLOOR = 0.01  # so an app named alone still lists its actions
OBJECT_MISMATCH = 0.7
GENERIC_OBJECTS = frozenset({"record", "module"})
# A read question ranks reads above writes, a write request writes above reads (by this factor).
KIND_MISMATCH = 0.75
READ_VERBS = ("find", "get", "list", "describe", "count", "export")
WRITE_VERBS = ("create", "update", "delete", "import", "link", "unlink")


def stem(word: str) -> str:
    """A deliberately small stemmer: plurals, then -ing/-ed, then a final -e."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "ches", "shes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4 and not word.endswith("eed"):
        word = word[:-2]
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _raw_words(text: str) -> list[str]:
    """Lower-case words; a CamelCase word also yields its parts, an id like 12x34 its shape."""
    return list(chain.from_iterable(map(_expand_raw, _RAW_WORD.findall(text.replace("_", " ")))))


@lru_cache(maxsize=1 << 16)
def _expand_raw(raw: str) -> tuple[str, ...]:
    """One raw word as the words it stands for: itself lower-cased, then its id shape or CamelCase parts."""
    lower = raw.lower()
    if _ID_SHAPE.match(lower):
        return (lower, ID_SHAPE_TOKEN)
    parts = _CAMEL_PART.findall(raw)
    if len(parts) > 1:
        return (lower, *(part.lower() for part in parts))
    return (lower,)


def _phrases_by_first_word() -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
    table: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
    for phrase, replacement in PHRASES.items():  # in PHRASES order: the first match wins
        table[phrase[0]].append((phrase, replacement))
    return {word: tuple(phrases) for word, phrases in table.items()}


_PHRASES_BY_FIRST = _phrases_by_first_word()


def _apply_phrases(words: list[str]) -> list[str]:
    if _PHRASES_BY_FIRST.keys().isdisjoint(words):
        return words  # most texts: no word starts a phrase
    out: list[str] = []
    i = 0
    count = len(words)
    while i < count:
        word = words[i]
        for phrase, replacement in _PHRASES_BY_FIRST.get(word, ()):
            end = i + len(phrase)
            if end <= count and all(words[i + j] == phrase[j] for j in range(1, len(phrase))):
                out.append(replacement)
                i = end
                break
        else:
            out.append(word)
            i += 1
    return out


@lru_cache(maxsize=1 << 16)
def _term(word: str) -> str | None:
    """The indexed term of one word, None for a stop word."""
    return None if word in STOP_WORDS else stem(word)


def _tokens(text: str) -> tuple[str, ...]:
    """The terms of a text; a phrase never spans a bracket, so each bracketed part is read (and kept) apart.

    An action's description ends with its connection in brackets: the part before is shared by every
    connection of the app, the part inside by every action of the connection.
    """
    if "[" not in text:
        return _segment_tokens(text)
    return tuple(term for segment in text.split("[") for term in _segment_tokens(segment))


@lru_cache(maxsize=1 << 15)
def _segment_tokens(text: str) -> tuple[str, ...]:
    # A term is never empty: None (a stop word) is the only false one.
    return tuple(filter(None, map(_term, _apply_phrases(_raw_words(text)))))


@lru_cache(maxsize=1 << 15)
def _counts(text: str) -> Counter[str]:
    """Term frequencies of a text; shared, never mutated."""
    return Counter(_tokens(text))


@lru_cache(maxsize=1 << 15)
def _one_part(text: str) -> tuple[Counter[str]]:
    """A field of one part, the text's `_counts`: one tuple for every entry with that text (shared,
    like the counts; most entries' names, keys and apps repeat another's)."""
    return (_counts(text),)


def tokenize(text: str) -> list[str]:
    return list(_tokens(text))


def _synonym_table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = defaultdict(set)
    for group in SYNONYM_GROUPS:
        stems = {stem(word) for word in group}
        for word in stems:
            table[word] |= stems
    return {word: frozenset(group) for word, group in table.items()}


_SYNONYMS = _synonym_table()
_VERB_STEMS = {stem(verb): verb for verb in VERB_CONCEPTS}
_VERB_VOCABULARY = frozenset(
    word for verb in VERB_CONCEPTS for word in _SYNONYMS.get(stem(verb), {stem(verb)})
) | {stem(word) for word in VIEW_WORDS}
_COMMAND_VERBS = _VERB_VOCABULARY - _SYNONYMS[stem("find")]


def _has_record_id(words: list[str], app_tokens: dict[str, str]) -> bool:
    """Whether the query names one record: an id shape, or a code no noun follows ("42", "INV-0042")."""
    for index, word in enumerate(words):
        if word == ID_SHAPE_TOKEN:
            return True
        if word in app_tokens or not any(ch.isdigit() for ch in word):
            continue
        if _AMOUNT.match(word) and not word.isdigit():
            continue  # 50k, 3rd
        following = words[index + 1] if index + 1 < len(words) else None
        if following is None or any(ch.isdigit() for ch in following) or following in STOP_WORDS:
            return True
    return False


@dataclass(frozen=True)
class SearchHit:
    entry: ToolEntry
    score: float


@dataclass(frozen=True)
class Concept:
    """One query word with the variants that may stand for it, each with its weight."""

    variants: tuple[tuple[str, float], ...]
    weight: float = 1.0
    verb: bool = False


def parse_query(query: str, app_tokens: dict[str, str] | None = None) -> tuple[list[Concept], set[str]]:
    """The query as concepts to score, and the app keys it names."""
    app_tokens = app_tokens or {}
    words = _join_app_words(_apply_phrases(_raw_words(query)), app_tokens)
    has_id = _has_record_id(words, app_tokens)
    apps: set[str] = set()
    concepts: list[Concept] = []
    seen: set[str] = set()
    seen_concepts: set[frozenset[str]] = set()
    has_verb = False
    leading = True
    for word in words:
        if word in app_tokens:
            apps.add(app_tokens[word])
            continue
        if word in STOP_WORDS and word not in VIEW_WORDS:
            continue
        if leading and word in LEADING_VERBS:
            word = LEADING_VERBS[word]
        leading = False
        if word in VIEW_WORDS:
            word = "get" if has_id else "find"
        term = stem(word)
        if word.endswith("ed") and term in _COMMAND_VERBS:
            continue  # a participle describes ("created time", "updated today"); it asks for nothing
        if term.isdigit():
            continue
        variants = {term: 1.0}
        for synonym in _SYNONYMS.get(term, ()):
            variants.setdefault(synonym, SYNONYM_WEIGHT)
        # "list all", "find ... search": one concept said twice counts once.
        signature = frozenset(variants)
        if term in seen or signature in seen_concepts:
            continue
        seen.add(term)
        seen_concepts.add(signature)
        is_verb = term in _VERB_VOCABULARY
        has_verb = has_verb or is_verb
        concepts.append(Concept(tuple(variants.items()), verb=is_verb))
    if concepts and not has_verb:
        variants = {term: 1.0 for term in _SYNONYMS[stem("find")] | _SYNONYMS[stem("list")]}
        concepts.append(Concept(tuple(variants.items()), IMPLICIT_VERB_WEIGHT, verb=True))
    return concepts, apps


def _join_app_words(words: list[str], app_tokens: dict[str, str]) -> list[str]:
    """Two or three words that join into an app's name ("hub spot" -> hubspot, "app 42" -> app42)."""
    if not app_tokens:
        return words
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in (3, 2):
            joined = "".join(words[i : i + size])
            if i + size <= len(words) and joined in app_tokens:
                out.append(joined)
                i += size
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _schema_words(schema: dict[str, Any] | None) -> list[str]:
    """Top-level property descriptions and enum values: what a generic action works on."""
    words: list[str] = []
    for prop in ((schema or {}).get("properties") or {}).values():
        if not isinstance(prop, dict):
            continue
        for node in (prop, prop.get("items")):
            if not isinstance(node, dict):
                continue
            if isinstance(node.get("description"), str):
                words.append(node["description"])
            enum = node.get("enum")
            if isinstance(enum, list) and all(isinstance(value, str) for value in enum):
                words.append(" ".join(enum))
    return words


@lru_cache(maxsize=1 << 14)
def _key_object(action_key: str) -> str:
    parts = action_key.lower().replace("_", "-").split("-")
    return stem(parts[-1]) if parts else ""


# A field of a document is the sum of its parts: shared term counts (one text, or one bracketed segment
# of a description), so that the index can work per distinct part instead of per document.
Fields = dict[str, tuple[Counter[str], ...]]
_FieldsKey = tuple[str, str, str, str, str, int]


def _part_uses(
    field_of_docs: list[tuple[Counter[str], ...]], sizes: dict[int, int]
) -> tuple[dict[int, list[int]], list[Counter[str]], list[int]]:
    """For one field: the documents that use each distinct part (by id; once per use, so repeats add up),
    the distinct parts in order of first use, and each document's length (its parts' sizes, in `sizes`)."""
    part_docs: dict[int, list[int]] = defaultdict(list)
    if set(map(len, field_of_docs)) == {1}:  # one part per document (all fields but descriptions)
        only = list(map(itemgetter(0), field_of_docs))
        ids = list(map(id, only))
        for doc, part_id in enumerate(ids):
            part_docs[part_id].append(doc)
        distinct = dict(zip(ids, only, strict=True))  # first use order
        for part_id, part in distinct.items():
            if part_id not in sizes:
                sizes[part_id] = sum(part.values())
        return part_docs, list(distinct.values()), list(map(sizes.__getitem__, ids))
    parts: list[Counter[str]] = []
    lengths: list[int] = []
    for doc, field_parts in enumerate(field_of_docs):
        length = 0
        for part in field_parts:
            using = part_docs[id(part)]
            if not using:
                parts.append(part)
                if id(part) not in sizes:
                    sizes[id(part)] = sum(part.values())
            using.append(doc)
            length += sizes[id(part)]
        lengths.append(length)
    return part_docs, parts, lengths


class TokenMemo:
    """Tokenisation kept between index builds: per shared schema and per entry's text fields.

    Schemas are shared objects (the catalog interns equal schemas), so one is read once per build
    however many actions use it; an entry whose texts did not change since the last build (a reload
    where only one connection's actions changed) is not tokenised again. Holds the schemas it saw,
    so their ids stay unique while it lives; `retain` drops what the newest build did not use.
    """

    def __init__(self) -> None:
        self._schemas: dict[int, tuple[Any, tuple[Counter[str]], bool]] = {}
        self._fields: dict[_FieldsKey, Fields] = {}
        self._used_schemas: set[int] = set()
        self._used_fields: set[_FieldsKey] = set()
        # The same entry object again (the index build after a load that tokenised its entries as they
        # arrived): its fields without rebuilding its key. Holds the entries, so their ids stay unique;
        # emptied by `retain`.
        self._of_entry: dict[int, tuple[ToolEntry, _FieldsKey, Fields]] = {}

    def _schema(self, schema: dict[str, Any] | None) -> tuple[Any, tuple[Counter[str]], bool]:
        """The schema, its field of one part (shared by every entry using it), whether it shows an id."""
        known = self._schemas.get(id(schema))
        if known is None or known[0] is not schema:
            words = _schema_words(schema)
            terms = Counter(
                set(_tokens(" ".join(words)))
            )  # each term once: a schema lists, it does not repeat
            has_id = any(ID_SHAPE_TOKEN in _tokens(text) for text in words)
            known = (schema, (terms,), has_id)
            self._schemas[id(schema)] = known
        self._used_schemas.add(id(schema))
        return known

    def schema_shows_id(self, schema: dict[str, Any] | None) -> bool:
        """Whether the schema's text shows a record id shape (12x34)."""
        return self._schema(schema)[2]

    def fields(self, entry: ToolEntry) -> Fields:
        seen = self._of_entry.get(id(entry))
        if seen is not None and seen[0] is entry:
            self._used_fields.add(seen[1])
            self._used_schemas.add(id(entry.input_schema))
            return seen[2]
        key = (
            entry.action_name,
            entry.action_key,
            entry.app_key,
            entry.app_name,
            entry.description,
            id(entry.input_schema),
        )
        schema_part = self._schema(entry.input_schema)[1]
        self._used_fields.add(key)
        known = self._fields.get(key)
        if known is None:
            known = {
                "name": _one_part(entry.action_name),
                "key": _one_part(entry.action_key),
                "app": _one_part(f"{entry.app_key} {entry.app_name}"),
                "description": tuple(_counts(segment) for segment in entry.description.split("[")),
                "schema": schema_part,
            }
            self._fields[key] = known
        self._of_entry[id(entry)] = (entry, key, known)
        return known

    def retain(self) -> None:
        """Forget what the latest build did not use (start of the next build's bookkeeping)."""
        # What was used is a subset of what is held: when as many were used, nothing is dropped.
        if len(self._used_schemas) < len(self._schemas):
            self._schemas = {k: v for k, v in self._schemas.items() if k in self._used_schemas}
        if len(self._used_fields) < len(self._fields):
            self._fields = {k: v for k, v in self._fields.items() if k in self._used_fields}
        # Entries are a load's own: the next build's are new ones (tokenised as they arrive, `fields`).
        self._of_entry = {}
        self._used_schemas, self._used_fields = set(), set()


@dataclass(frozen=True)
class _ParsedQuery:
    """A query as one index reads it: its concepts, the apps it names, the objects it names, its intent."""

    concepts: tuple[Concept, ...]
    apps: frozenset[str]
    named: frozenset[str]
    intent: str | None


MAX_MEMOISED_QUERIES = 1024
MAX_CONCEPT_POSTINGS = 1024


class SearchIndex:
    """An index over one catalog snapshot; build once, query many times.

    Building costs one tokenisation of each distinct text and a few list appends per action; pass the
    `TokenMemo` of the previous build to skip the texts it already read. A term's postings (BM25 gain per
    action) are computed the first time a query needs them and kept, so the first searches pay for the
    terms they use. Build it in any thread; query it from one thread at a time.
    """

    def __init__(self, entries: Sequence[ToolEntry], memo: TokenMemo | None = None) -> None:
        memo = memo or TokenMemo()
        self._entries = list(entries)
        entries = self._entries
        self._doc_objects = [_key_object(entry.action_key) for entry in entries]
        own = [memo.fields(entry) for entry in entries]
        self._app_tokens = self._app_vocabulary(memo, own)
        docs = self._share_generic_objects(own)
        memo.retain()
        self._key_objects = frozenset(self._doc_objects) - _VERB_VOCABULARY
        self._docs_of_app: dict[str, list[int]] = defaultdict(list)
        self._docs_of_object: dict[str, list[int]] = defaultdict(list)
        self._app_of_connection: dict[str, str] = {}
        writes: list[int] = []
        # The same action of the same app through several connections: one number per (app, action key).
        actions: dict[tuple[str, str], int] = {}
        self._action_of: list[int] = []
        for doc, (entry, obj) in enumerate(zip(entries, self._doc_objects, strict=True)):
            self._docs_of_app[entry.app_key].append(doc)
            self._docs_of_object[obj].append(doc)
            self._app_of_connection[entry.connection_id] = entry.app_key
            if entry.kind != "read":
                writes.append(doc)
            self._action_of.append(actions.setdefault((entry.app_key, entry.action_key), len(actions)))
        self._doc_set_of_app = {app_key: frozenset(docs) for app_key, docs in self._docs_of_app.items()}
        against_reads = frozenset(writes)
        self._docs_against_intent = {
            "read": against_reads,
            "write": frozenset(range(len(entries))) - against_reads,
        }
        self._queries: dict[str, _ParsedQuery] = {}
        self._concepts: dict[tuple[tuple[tuple[str, float], ...], float], dict[int, float]] = {}
        self._object_docs: dict[frozenset[str], frozenset[int]] = {}
        self._term_holders: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._index_parts(docs)

    def _index_parts(self, docs: list[Fields]) -> None:
        """Which documents use each distinct part in each field, which parts hold each term; field lengths."""
        self._count = max(len(docs), 1)
        sizes: dict[int, int] = {}  # id of a part -> its length in terms
        self._lengths: dict[str, list[int]] = {}
        self._term_parts: dict[str, list[tuple[str, Counter[str], list[int]]]] = defaultdict(list)
        for field in FIELD_WEIGHTS:
            part_docs, parts, lengths = _part_uses(list(map(itemgetter(field), docs)), sizes)
            self._lengths[field] = lengths
            for part in parts:
                use = (field, part, part_docs[id(part)])
                for term in part:
                    self._term_parts[term].append(use)
        self._average = {field: (sum(self._lengths[field]) / self._count) or 1.0 for field in FIELD_WEIGHTS}
        self._postings: dict[str, dict[int, float]] = {}

    def _posting(self, term: str) -> dict[int, float]:
        """Each document's BM25 gain for `term`, summed over its fields; computed at first use, then kept."""
        known = self._postings.get(term)
        if known is not None:
            return known
        frequencies: dict[str, dict[int, int]] = {}
        for field, part, docs in self._term_parts.get(term, ()):
            in_field = frequencies.setdefault(field, {})
            frequency = part[term]
            for doc in docs:
                in_field[doc] = in_field.get(doc, 0) + frequency
        holders: set[int] = set()
        for in_field in frequencies.values():
            holders.update(in_field)
        df = len(holders)
        idf = math.log(1 + (self._count - df + 0.5) / (df + 0.5))
        posting: dict[int, float] = {}
        for field in FIELD_WEIGHTS:  # the order the gains of one document are summed in
            if field not in frequencies:
                continue
            in_field = frequencies[field]
            b = FIELD_B[field]
            average = self._average[field]
            lengths = self._lengths[field]
            weight = FIELD_WEIGHTS[field] * (K1 + 1)
            for doc, frequency in in_field.items():
                norm = K1 * (1 - b + b * lengths[doc] / average)
                posting[doc] = posting.get(doc, 0.0) + weight * idf * frequency / (frequency + norm)
        self._postings[term] = posting
        return posting

    def _share_generic_objects(self, docs: list[Fields]) -> list[Fields]:
        """Generic actions of an app (on records/modules) know the objects any of them lists."""
        shared: dict[str, set[str]] = defaultdict(set)
        generic = [obj in GENERIC_OBJECTS for obj in self._doc_objects]
        for entry, fields, is_generic in zip(self._entries, docs, generic, strict=True):
            if is_generic:
                shared[entry.app_key].update(*fields["schema"])
        schema_of_app = {app: (Counter(terms),) for app, terms in shared.items()}
        return [
            {**fields, "schema": schema_of_app[entry.app_key]} if is_generic else fields
            for entry, fields, is_generic in zip(self._entries, docs, generic, strict=True)
        ]

    def _app_vocabulary(self, memo: TokenMemo, docs: list[Fields]) -> dict[str, str]:
        """Words that name exactly one app (its key or name), e.g. 'vtiger' -> 'vtiger'."""
        owners: dict[str, set[str]] = defaultdict(set)
        for app_key, app_name in {(entry.app_key, entry.app_name) for entry in self._entries}:
            for word in _raw_words(f"{app_key} {app_name}"):
                if word not in STOP_WORDS and len(word) > 2:
                    owners[word].add(app_key)
        # An id shape that only one app's actions show (Vtiger's 12x34) names that app too.
        showing: set[str] = set()
        for entry, fields in zip(self._entries, docs, strict=True):
            if entry.app_key in showing:
                continue
            # The description's parts are the terms of its bracketed segments, which is all it has.
            if memo.schema_shows_id(entry.input_schema) or any(
                ID_SHAPE_TOKEN in part for part in fields["description"]
            ):
                showing.add(entry.app_key)
        if self._entries:  # the id shape's owners are these apps alone (none: it names no app)
            owners[ID_SHAPE_TOKEN] = showing
        return {word: next(iter(apps)) for word, apps in owners.items() if len(apps) == 1}

    def _parsed(self, query: str) -> _ParsedQuery:
        """What the query asks for, read once per distinct query string (agents repeat their queries)."""
        known = self._queries.get(query)
        if known is None:
            concepts, apps = parse_query(query, self._app_tokens)
            named = {
                term for concept in concepts if not concept.verb for term, _ in concept.variants
            } & self._key_objects
            known = _ParsedQuery(tuple(concepts), frozenset(apps), frozenset(named), query_intent(concepts))
            if len(self._queries) >= MAX_MEMOISED_QUERIES:
                del self._queries[next(iter(self._queries))]  # the oldest
            self._queries[query] = known
        return known

    def _concept_posting(self, concept: Concept) -> dict[int, float]:
        """Each document's weighted gain for one concept (the best of its variants'); kept per concept, since
        a synonym group recurs across queries ("find", "list", "contact")."""
        key = (concept.variants, concept.weight)
        known = self._concepts.get(key)
        if known is not None:
            return known
        best: dict[int, float] = {}
        for term, weight in concept.variants:
            for doc, gain in self._posting(term).items():
                value = weight * gain
                if value > best.get(doc, 0.0):
                    best[doc] = value
        if concept.weight != 1.0:
            best = {doc: concept.weight * value for doc, value in best.items()}
        if len(self._concepts) >= MAX_CONCEPT_POSTINGS:
            self._concepts.clear()
        self._concepts[key] = best
        return best

    def _scores(self, parsed: _ParsedQuery, scope: str | None) -> dict[int, float]:
        """Each matching document's score (only the documents of app `scope` when given).

        Per document the arithmetic of a plain loop (concept gains summed in query order, then the
        mismatch factors, then the app floor), done with dict and set operations that run in C.
        """
        scores: dict[int, float] = {}
        for concept in parsed.concepts:
            posting = self._concept_posting(concept)
            if not scores:
                scores = dict(posting)
                continue
            both = list(posting.keys() & scores.keys())
            scores.update(_pick(posting, list(posting.keys() - scores.keys())))
            scores.update(
                zip(
                    both, map(add, map(scores.__getitem__, both), map(posting.__getitem__, both)), strict=True
                )
            )
        if scope is not None:
            scores = _pick(scores, scores.keys() & self._doc_set_of_app.get(scope, frozenset()))
        if parsed.named:
            # The query names a kind of object: an action on some other specific object is a poor fit.
            _scale(scores, scores.keys() - self._docs_on_objects(parsed.named), OBJECT_MISMATCH)
        if parsed.intent is not None:
            _scale(scores, scores.keys() & self._docs_against_intent[parsed.intent], KIND_MISMATCH)
        for app_key in parsed.apps:
            if scope is None or app_key == scope:
                docs = self._docs_of_app.get(app_key, [])
                floored = map(add, map(scores.get, docs, repeat(0.0)), repeat(APP_FLOOR))
                scores.update(zip(docs, floored, strict=True))
        return scores

    def _docs_on_objects(self, named: frozenset[str]) -> frozenset[int]:
        """The documents on a generic object or on one of `named` (kept per set of names)."""
        known = self._object_docs.get(named)
        if known is None:
            by_object = self._docs_of_object
            known = frozenset(doc for obj in GENERIC_OBJECTS | named for doc in by_object.get(obj, ()))
            if len(self._object_docs) >= MAX_MEMOISED_QUERIES:
                self._object_docs.clear()
            self._object_docs[named] = known
        return known

    def _ranked(self, scores: dict[int, float], apps: frozenset[str], wanted: int) -> Iterator[int]:
        """Documents best first: an app named in the query is a constraint the agent was given, so its
        actions come first; then by score, ties by tool name."""
        if not apps:
            yield from self._by_score(scores, wanted)
            return
        of_apps = set().union(*(self._doc_set_of_app.get(app_key, ()) for app_key in apps))
        yield from self._by_score(_pick(scores, scores.keys() & of_apps), wanted)
        yield from self._by_score(_pick(scores, scores.keys() - of_apps), wanted)

    def _by_score(self, scores: dict[int, float], wanted: int) -> Iterator[int]:
        """Documents with a positive score, highest first, ties by tool name: the best `wanted` found
        with one sort of the scores, the rest ordered only if the caller reads past them."""
        entries = self._entries
        if len(scores) > wanted:
            cut = sorted(scores.values())[-wanted]
            best = list(compress(scores.keys(), map(cut.__le__, scores.values())))
        else:
            cut, best = 0.0, list(scores)
        best.sort(key=lambda doc: (-scores[doc], entries[doc].name, doc))
        for doc in best:
            if scores[doc] > 0:
                yield doc
        if len(best) < len(scores):
            rest = [doc for doc, score in scores.items() if 0 < score < cut]
            rest.sort(key=lambda doc: (-scores[doc], entries[doc].name, doc))
            yield from rest

    def _scope(self, app: str | None, connection_id: str | None) -> tuple[bool, str | None]:
        """Whether anything can be in scope, and the one app every in-scope document belongs to."""
        if connection_id is None:
            return True, app
        of_connection = self._app_of_connection.get(connection_id)
        if of_connection is None or (app is not None and app != of_connection):
            return False, None
        return True, of_connection

    @observe_search
    def search(
        self, query: str, limit: int = 10, *, app: str | None = None, connection_id: str | None = None
    ) -> list[SearchHit]:
        """The best `limit` hits, best first; `app`/`connection_id` keep only that app's/connection's hits.

        The same action through a second connection comes after the distinct hits, with duplicates judged
        over all hits before filtering (only documents of the same app can be duplicates, so the others
        are never scored when the scope is one app).
        """
        possible, scope = self._scope(app, connection_id)
        if limit <= 0 or not possible:
            return []
        parsed = self._parsed(query)
        scores = self._scores(parsed, scope)
        entries, action_of = self._entries, self._action_of
        first: list[SearchHit] = []
        repeats: list[SearchHit] = []
        seen: set[int] = set()
        for doc in self._ranked(scores, parsed.apps, limit):
            action = action_of[doc]
            repeated = action in seen
            seen.add(action)
            entry = entries[doc]
            if connection_id is None or entry.connection_id == connection_id:
                (repeats if repeated else first).append(SearchHit(entry, scores[doc]))
                if len(first) >= limit:
                    break
        return (first + repeats)[:limit]

    def _holders(self, term: str) -> tuple[frozenset[str], frozenset[str]]:
        """The apps and the connections of the documents that hold `term`."""
        known = self._term_holders.get(term)
        if known is None:
            docs = self._posting(term)
            entries = self._entries
            known = (
                frozenset(entries[doc].app_key for doc in docs),
                frozenset(entries[doc].connection_id for doc in docs),
            )
            self._term_holders[term] = known
        return known

    def unmatched(
        self, query: str, *, app: str | None = None, connection_id: str | None = None
    ) -> list[tuple[str, list[str]]]:
        """The query's object words that no action (of this app/connection) matches, each with the
        nearest objects the catalog has (by spelling, else the objects of the apps in question)."""
        parsed = self._parsed(query)
        concepts, named_apps = parsed.concepts, parsed.apps

        possible, scope = self._scope(app, connection_id)

        def held(term: str) -> bool:
            if not possible:
                return False
            if scope is None:
                return bool(self._posting(term))
            apps, connections = self._holders(term)
            return connection_id in connections if connection_id is not None else scope in apps

        def in_scope(doc: int) -> bool:
            entry = self._entries[doc]
            return (app is None or entry.app_key == app) and (
                connection_id is None or entry.connection_id == connection_id
            )

        missing = [concept for concept in concepts if not concept.verb and not held(concept.variants[0][0])]
        if not missing:  # the usual case: every object word matched, no need to look at the catalog
            return []
        docs = [doc for doc in range(len(self._entries)) if in_scope(doc)]
        apps = {app} if app else named_apps
        objects = sorted(
            {
                _key_noun(self._entries[doc].action_key)
                for doc in docs
                if not apps or self._entries[doc].app_key in apps
            }
            - {""}
        )
        raw_by_stem = {stem(word): word for word in _raw_words(query)}
        out: list[tuple[str, list[str]]] = []
        for concept in missing:
            term = concept.variants[0][0]
            word = raw_by_stem.get(term, term)
            synonyms = {variant for variant, _ in concept.variants}
            near = _one_form(noun for noun in objects if stem(noun) in synonyms)
            near = near or _one_form(difflib.get_close_matches(word, objects, n=3, cutoff=0.6))
            out.append((word, near or _one_form(objects)[:8]))
        return out


def _one_form(nouns: Iterable[str]) -> list[str]:
    """Each object once: "space" and "spaces" give the longer form, in the place of the first."""
    by_stem: dict[str, str] = {}
    for noun in nouns:
        if len(noun) > len(by_stem.get(stem(noun), "")):
            by_stem[stem(noun)] = noun
    return list(by_stem.values())


def _scale(scores: dict[int, float], docs: Iterable[int], factor: float) -> None:
    """Multiplies the scores of `docs` by `factor`, in place."""
    docs = list(docs)
    scores.update(zip(docs, map(mul, map(scores.__getitem__, docs), repeat(factor)), strict=True))


def _pick(scores: dict[int, float], docs: Iterable[int]) -> dict[int, float]:
    """The scores of `docs` only."""
    docs = list(docs)
    return dict(zip(docs, map(scores.__getitem__, docs), strict=True))


def query_intent(concepts: Sequence[Concept]) -> str | None:
    """'read' or 'write' when the query's verbs say which (no verb at all reads as a question), else None."""
    verbs: set[str] = set()
    for concept in concepts:
        if concept.verb:
            terms = {term for term, weight in concept.variants if weight == 1.0}
            verbs.update(
                v
                for v in READ_VERBS + WRITE_VERBS
                if stem(v) in terms or _SYNONYMS.get(stem(v), frozenset()) & terms
            )
    reads = verbs & set(READ_VERBS)
    writes = verbs & set(WRITE_VERBS)
    if reads and not writes:
        return "read"
    if writes and not reads:
        return "write"
    return None


@lru_cache(maxsize=1 << 14)
def _key_noun(action_key: str) -> str:
    """The object an action key names, as written: 'list-stories' -> 'stories' (not for generic ones)."""
    parts = action_key.lower().replace("_", "-").split("-")
    if len(parts) < 2 or stem(parts[-1]) in GENERIC_OBJECTS or stem(parts[-1]) in _VERB_VOCABULARY:
        return ""
    return parts[-1]
