"""Local ranking of actions by intent, over the cached catalog.

BM25 over a few weighted fields (action name and key count more than the description;
the app name lets "in vtiger" steer the ranking), with light stemming and a small CRM
synonym table so "deals" finds Vtiger's Potentials and "tickets" finds HelpDesk. It runs
in memory, across every connection, in well under a millisecond per hundred actions.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from membrane_mcp.tools.catalog import ToolEntry

_WORD = re.compile(r"[a-z0-9]+")

STOP_WORDS = frozenset(
    "a an the of in on for to by with from and or all any my our their this that these those is are be "
    "me i we it its into at as some every each please can you do does using via".split()
)

# Each group is one concept; a query word in a group also matches the others.
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("deal", "potential", "opportunity", "pipeline"),
    ("ticket", "helpdesk", "case", "issue", "support"),
    ("company", "account", "organization", "organisation", "customer", "client"),
    ("contact", "person", "people"),
    ("lead", "prospect"),
    ("find", "search", "query", "lookup", "filter", "where"),
    ("get", "retrieve", "fetch", "read", "show", "detail"),
    ("list", "all", "browse", "enumerate"),
    ("create", "add", "new", "insert", "make"),
    ("update", "edit", "change", "modify", "set", "rename"),
    ("delete", "remove", "erase", "destroy", "archive"),
    ("describe", "metadata", "field", "schema", "structure"),
    ("module", "type", "entity", "object"),
    ("user", "me", "current", "whoami", "myself"),
    ("email", "mail", "address"),
    ("phone", "mobile", "telephone"),
    ("invoice", "bill", "billing"),
    ("quote", "quotation", "estimate"),
    ("story", "content", "article"),
    ("space", "channel"),
    ("task", "todo"),
    ("event", "meeting", "appointment", "calendar", "activity"),
    ("campaign", "marketing"),
    ("product", "item", "sku"),
    ("document", "file", "attachment"),
)

_SYNONYMS: dict[str, frozenset[str]] = {}
for _group in SYNONYM_GROUPS:
    for _word in _group:
        _SYNONYMS[_word] = _SYNONYMS.get(_word, frozenset()) | frozenset(_group)

FIELD_WEIGHTS = {"name": 3.0, "key": 2.5, "app": 2.0, "description": 1.0}
K1 = 1.2
B = 0.6
SYNONYM_WEIGHT = 0.5


def stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    words = _WORD.findall(text.lower().replace("_", " ").replace("-", " "))
    return [stem(word) for word in words if word not in STOP_WORDS]


@dataclass(frozen=True)
class SearchHit:
    entry: ToolEntry
    score: float


class SearchIndex:
    """An index over one catalog snapshot; build once, query many times."""

    def __init__(self, entries: Sequence[ToolEntry]) -> None:
        self._entries = list(entries)
        self._docs: list[dict[str, Counter[str]]] = []
        lengths: dict[str, list[int]] = {field: [] for field in FIELD_WEIGHTS}
        document_frequency: Counter[str] = Counter()
        for entry in self._entries:
            fields = {
                "name": Counter(tokenize(entry.action_name)),
                "key": Counter(tokenize(entry.action_key)),
                "app": Counter(tokenize(f"{entry.app_key} {entry.app_name}")),
                "description": Counter(tokenize(entry.description)),
            }
            self._docs.append(fields)
            for field, counts in fields.items():
                lengths[field].append(sum(counts.values()))
            document_frequency.update({term for counts in fields.values() for term in counts})
        count = max(len(self._entries), 1)
        self._avg_length = {field: (sum(v) / len(v) if v else 1.0) or 1.0 for field, v in lengths.items()}
        self._idf = {
            term: math.log(1 + (count - freq + 0.5) / (freq + 0.5)) for term, freq in document_frequency.items()
        }

    def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        weighted_terms = _expand(tokenize(query))
        if not weighted_terms:
            return []
        hits: list[SearchHit] = []
        for entry, fields in zip(self._entries, self._docs, strict=True):
            score = 0.0
            for term, term_weight in weighted_terms.items():
                idf = self._idf.get(term)
                if idf is None:
                    continue
                for field, counts in fields.items():
                    frequency = counts.get(term)
                    if not frequency:
                        continue
                    length = sum(counts.values())
                    norm = K1 * (1 - B + B * length / self._avg_length[field])
                    score += term_weight * FIELD_WEIGHTS[field] * idf * frequency * (K1 + 1) / (frequency + norm)
            if score > 0:
                hits.append(SearchHit(entry, score))
        hits.sort(key=lambda hit: (-hit.score, hit.entry.name))
        return hits[:limit]


def _expand(terms: list[str]) -> dict[str, float]:
    weights: dict[str, float] = {}
    for term in terms:
        weights[term] = max(weights.get(term, 0.0), 1.0)
        for synonym in _SYNONYMS.get(term, ()):
            synonym = stem(synonym)
            if synonym != term:
                weights[synonym] = max(weights.get(synonym, 0.0), SYNONYM_WEIGHT)
    return weights
