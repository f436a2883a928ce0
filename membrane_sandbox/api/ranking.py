"""Relevance ranking for ``intent`` (actions) and ``q`` (connector search).

A small lexical ranker: tokenise, stem plurals, expand CRM synonyms, and weight matches in the
name and key above matches in the description.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

_SYNONYM_GROUPS = [
    {"deal", "potential", "opportunity", "sale"},
    {"ticket", "helpdesk", "case", "issue", "support"},
    {"contact", "person", "people"},
    {"company", "account", "organization", "organisation", "org"},
    {"lead", "prospect"},
    {"list", "find", "search", "query", "get", "fetch", "retrieve", "show", "lookup"},
    {"create", "add", "new", "make", "insert"},
    {"update", "edit", "modify", "change", "set"},
    {"delete", "remove", "archive", "destroy"},
    {"note", "comment"},
    {"task", "todo", "activity"},
    {"event", "meeting", "appointment", "calendar"},
    {"document", "file", "content", "asset", "story"},
    {"email", "mail", "message"},
    {"product", "item"},
    {"quote", "estimate"},
    {"invoice", "bill"},
    {"user", "member", "owner"},
]
_SYNONYMS: dict[str, set[str]] = {}
for _group in _SYNONYM_GROUPS:
    for _word in _group:
        _SYNONYMS.setdefault(_word, set()).update(_group - {_word})

_STOPWORDS = {
    "a",
    "an",
    "the",
    "of",
    "to",
    "for",
    "in",
    "on",
    "by",
    "with",
    "and",
    "or",
    "my",
    "all",
    "from",
    "me",
}
_WORD = re.compile(r"[a-z0-9]+")


def stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str | None) -> list[str]:
    if not text:
        return []
    return [stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def score(query: str, *, name: str | None, key: str | None, description: str | None) -> float:
    """How well an element matches the query; 0 means no word matched."""
    query_tokens = tokens(query)
    if not query_tokens:
        return 0.0
    strong = set(tokens(name)) | set(tokens(key.replace("-", " ") if key else None))
    weak = set(tokens(description))
    total = 0.0
    for token in query_tokens:
        expanded = _SYNONYMS.get(token, set())
        if token in strong:
            total += 3.0
        elif expanded & strong:
            total += 2.0
        elif token in weak:
            total += 1.0
        elif expanded & weak:
            total += 0.5
        elif any(s.startswith(token) for s in strong) and len(token) >= 3:
            total += 1.0
    return total


def rank(
    query: str, items: Iterable[T], fields: Callable[[T], tuple[str | None, str | None, str | None]]
) -> list[T]:
    """Stable sort by descending score; ``fields(item)`` returns (name, key, description)."""
    scored = []
    for index, item in enumerate(items):
        name, key, description = fields(item)
        scored.append((-score(query, name=name, key=key, description=description), index, item))
    scored.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _, _, item in scored]
