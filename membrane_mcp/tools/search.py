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

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from membrane_mcp.observability import observe_search
from membrane_mcp.tools.catalog import ToolEntry

_RAW_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_ID_SHAPE = re.compile(r"^[0-9]+x[0-9]+$")
_AMOUNT = re.compile(r"^[0-9]+(k|m|bn|st|nd|rd|th)?$")
ID_SHAPE_TOKEN = "idxid"  # what "12x34" also yields; stems to itself

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
    words: list[str] = []
    for raw in _RAW_WORD.findall(text.replace("_", " ")):
        lower = raw.lower()
        words.append(lower)
        if _ID_SHAPE.match(lower):
            words.append(ID_SHAPE_TOKEN)
            continue
        parts = _CAMEL_PART.findall(raw)
        if len(parts) > 1:
            words.extend(part.lower() for part in parts)
    return words


def _apply_phrases(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        for phrase, replacement in PHRASES.items():
            if tuple(words[i : i + len(phrase)]) == phrase:
                out.append(replacement)
                i += len(phrase)
                break
        else:
            out.append(words[i])
            i += 1
    return out


def tokenize(text: str) -> list[str]:
    return [stem(word) for word in _apply_phrases(_raw_words(text)) if word not in STOP_WORDS]


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
    words = _apply_phrases(_raw_words(query))
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


def _key_object(action_key: str) -> str:
    parts = action_key.lower().replace("_", "-").split("-")
    return stem(parts[-1]) if parts else ""


class SearchIndex:
    """An index over one catalog snapshot; build once, query many times."""

    def __init__(self, entries: Sequence[ToolEntry]) -> None:
        self._entries = list(entries)
        docs = [self._fields(entry) for entry in self._entries]
        self._share_generic_objects(docs)
        self._app_tokens = self._app_vocabulary()
        self._doc_objects = [_key_object(entry.action_key) for entry in self._entries]
        self._key_objects = frozenset(self._doc_objects) - _VERB_VOCABULARY
        count = max(len(docs), 1)
        document_frequency: Counter[str] = Counter()
        for fields in docs:
            document_frequency.update({term for counts in fields.values() for term in counts})
        average = {
            field: (sum(sum(fields[field].values()) for fields in docs) / count) or 1.0
            for field in FIELD_WEIGHTS
        }
        self._postings: dict[str, dict[int, float]] = defaultdict(dict)
        for doc, fields in enumerate(docs):
            for field, counts in fields.items():
                length = sum(counts.values())
                norm = K1 * (1 - FIELD_B[field] + FIELD_B[field] * length / average[field])
                for term, frequency in counts.items():
                    idf = math.log(
                        1 + (count - document_frequency[term] + 0.5) / (document_frequency[term] + 0.5)
                    )
                    gain = FIELD_WEIGHTS[field] * idf * frequency * (K1 + 1) / (frequency + norm)
                    postings = self._postings[term]
                    postings[doc] = postings.get(doc, 0.0) + gain

    @staticmethod
    def _fields(entry: ToolEntry) -> dict[str, Counter[str]]:
        return {
            "name": Counter(tokenize(entry.action_name)),
            "key": Counter(tokenize(entry.action_key)),
            "app": Counter(tokenize(f"{entry.app_key} {entry.app_name}")),
            "description": Counter(tokenize(entry.description)),
            "schema": Counter(set(tokenize(" ".join(_schema_words(entry.input_schema))))),
        }

    def _share_generic_objects(self, docs: list[dict[str, Counter[str]]]) -> None:
        shared: dict[str, set[str]] = defaultdict(set)
        generic = [_key_object(entry.action_key) in GENERIC_OBJECTS for entry in self._entries]
        for entry, fields, is_generic in zip(self._entries, docs, generic, strict=True):
            if is_generic:
                shared[entry.app_key] |= set(fields["schema"])
        for entry, fields, is_generic in zip(self._entries, docs, generic, strict=True):
            if is_generic:
                fields["schema"] = Counter(shared[entry.app_key])

    def _app_vocabulary(self) -> dict[str, str]:
        """Words that name exactly one app (its key or name), e.g. 'vtiger' -> 'vtiger'."""
        owners: dict[str, set[str]] = defaultdict(set)
        for entry in self._entries:
            for word in _raw_words(f"{entry.app_key} {entry.app_name}"):
                if word not in STOP_WORDS and len(word) > 2:
                    owners[word].add(entry.app_key)
        # An id shape that only one app's actions show (Vtiger's 12x34) names that app too.
        shapes: dict[str, set[str]] = defaultdict(set)
        for entry in self._entries:
            text = f"{entry.description} {' '.join(_schema_words(entry.input_schema))}"
            if ID_SHAPE_TOKEN in _raw_words(text):
                shapes[ID_SHAPE_TOKEN].add(entry.app_key)
        owners.update(shapes)
        return {word: next(iter(apps)) for word, apps in owners.items() if len(apps) == 1}

    @observe_search
    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        concepts, apps = parse_query(query, self._app_tokens)
        scores: dict[int, float] = defaultdict(float)
        for concept in concepts:
            best: dict[int, float] = {}
            for term, weight in concept.variants:
                for doc, gain in self._postings.get(term, {}).items():
                    value = weight * gain
                    if value > best.get(doc, 0.0):
                        best[doc] = value
            for doc, value in best.items():
                scores[doc] += concept.weight * value
        named = {
            term for concept in concepts if not concept.verb for term, _ in concept.variants
        } & self._key_objects
        if named:
            # The query names a kind of object: an action on some other specific object is a poor fit.
            for doc in scores:
                obj = self._doc_objects[doc]
                if obj not in GENERIC_OBJECTS and obj not in named:
                    scores[doc] *= OBJECT_MISMATCH
        if apps:
            for doc, entry in enumerate(self._entries):
                if entry.app_key in apps:
                    scores[doc] = scores.get(doc, 0.0) + APP_FLOOR
        hits = [SearchHit(self._entries[doc], score) for doc, score in scores.items() if score > 0]
        # An app named in the query is a constraint the agent was given: its actions come first.
        hits.sort(key=lambda hit: (hit.entry.app_key not in apps, -hit.score, hit.entry.name))
        return _demote_duplicates(hits)[:limit]


def _demote_duplicates(hits: Iterable[SearchHit]) -> list[SearchHit]:
    """The same action of the same app through a second connection goes after the distinct hits.

    Kept rather than dropped so that a caller filtering by connection still finds it.
    """
    first: list[SearchHit] = []
    repeats: list[SearchHit] = []
    seen: set[tuple[str, str]] = set()
    for hit in hits:
        key = (hit.entry.app_key, hit.entry.action_key)
        (repeats if key in seen else first).append(hit)
        seen.add(key)
    return first + repeats
