"""Turn a plain-language intent ("list all vtiger campaigns with their expected revenue") into an action.

A small, deterministic matcher: find the verb, the object (by key, label, singular/plural or
synonym) and any fields the intent names, then build a standard action over that object.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from membrane_sandbox.apps.base import ActionSpec
from membrane_sandbox.apps.catalog import ObjectDef
from membrane_sandbox.apps.intent_conditions import ParsedConditions, describe, parse_conditions
from membrane_sandbox.apps.schemas import title

if TYPE_CHECKING:
    from membrane_sandbox.apps.catalog_app import CatalogApp

# Verb words, first match wins in this order; "get all"/"show" style phrases mean list.
VERBS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("count", ("count", "how many", "number of", "total number")),
    ("delete", ("delete", "remove", "destroy", "erase", "purge")),
    ("update", ("update", "edit", "modify", "change", "rename", "set", "mark")),
    ("create", ("create", "add", "new", "insert", "make", "register", "log")),
    ("search", ("search", "find", "lookup", "look up", "filter", "query", "match")),
    (
        "get",
        (
            "get one",
            "get a",
            "get the",
            "retrieve",
            "fetch one",
            "details of",
            "by id",
            "by its id",
            "read one",
        ),
    ),
    ("list", ("list", "show", "all", "get", "fetch", "browse", "display", "enumerate", "every", "read")),
)
UNSUPPORTED = (
    "merge",
    "convert",
    "send",
    "email to",
    "export",
    "import",
    "print",
    "sync",
    "duplicate",
    "share",
    "publish",
    "archive",
    "assign",
    "approve",
    "schedule",
    "download",
    "upload",
)
STOPWORDS = frozenset(
    "a an the all any every my our their its his her of for with and or to in on by from that which "
    "who whose "
    "is are be me us them it records record items item data list show get fetch find search please i want "
    "would like can you each one ones new".split()
)
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _stem(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("ses", "xes", "ches", "shes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def _phrase(text: str) -> str:
    return " " + " ".join(_stem(w) for w in words(text)) + " "


def find_verb(text: str) -> str | None:
    padded = " " + " ".join(words(text)) + " "
    best: tuple[int, str] | None = None
    for verb, phrases in VERBS:
        for p in phrases:
            i = padded.find(" " + p + " ")
            if i >= 0 and (best is None or i < best[0]):
                best = (i, verb)
    return best[1] if best else None


def object_names(obj: ObjectDef) -> list[str]:
    names = {obj.key, obj.label, obj.singular.replace("-", " "), obj.plural.replace("-", " "), *obj.synonyms}
    return sorted({_phrase(n).strip() for n in names if n}, key=len, reverse=True)


def find_object(app: CatalogApp, text: str) -> tuple[ObjectDef, str] | None:
    """The object named in the intent, with the matched phrase."""
    padded = _phrase(text)
    best: tuple[int, int, ObjectDef, str] | None = None
    for obj in app.catalog.objects:
        for name in object_names(obj):
            i = padded.find(" " + name + " ")
            # The earliest mention is the head noun ("files of a story"); at one spot the longest name wins.
            if i >= 0 and (best is None or i < best[1] or (i == best[1] and len(name) > best[0])):
                best = (len(name), i, obj, name)
    return (best[2], best[3]) if best else None


def find_fields(obj: ObjectDef, text: str, object_phrase: str) -> list[str]:
    padded = _phrase(text).replace(" " + object_phrase + " ", " | ", 1)
    found: list[tuple[int, str]] = []
    for f in obj.fields:
        if f.name == "id":
            continue
        candidates = {
            _phrase(f.label).strip(),
            _phrase(f.name.replace("_", " ")).strip(),
            _stem(f.name.lower()),
        }
        for c in candidates:
            if not c or c in STOPWORDS:
                continue
            i = padded.find(" " + c + " ")
            if i >= 0:
                found.append((i, f.name))
                break
    return [n for _, n in sorted(found)]


def _unknown_phrase(app: CatalogApp, text: str) -> str:
    app_words = set(words(app.name)) | set(words(app.key))
    verb_words = {w for _, ps in VERBS for p in ps for w in p.split()}
    rest = [w for w in words(text) if w not in STOPWORDS and w not in app_words and w not in verb_words]
    return " ".join(rest[:4]) or text.strip()


def _error(key: str, message: str) -> list[dict[str, Any]]:
    return [{"type": "configuration", "key": key, "message": message}]


def _slug(parts: list[str]) -> str:
    s = "-".join(p for p in parts if p)
    s = re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")
    return re.sub(r"-+", "-", s)


def build_from_intent(app: CatalogApp, intent: str) -> ActionSpec | list[dict[str, Any]]:
    text = (intent or "").strip()
    if not words(text):
        return _error(
            "empty_intent", "The intent is empty: say what to do and with which object, e.g. 'list contacts'."
        )
    match = find_object(app, text)
    if match is None:
        sample = ", ".join(o.label for o in app.catalog.objects[:12])
        more = "..." if len(app.catalog.objects) > 12 else ""
        return _error(
            "unknown_object",
            f"{app.name} has no object matching '{_unknown_phrase(app, text)}'. Objects it has: "
            f"{sample}{more}.",
        )
    obj, phrase = match
    padded = " " + " ".join(words(text)) + " "
    bad = next((v for v in UNSUPPORTED if " " + v + " " in padded), None)
    verb = find_verb(text)
    if bad and (verb is None or padded.find(" " + bad + " ") < _first_verb_pos(padded)):
        return _error(
            "unsupported_operation",
            f"Building a '{bad}' action is not supported for {app.name} "
            f"{obj.label}; supported: {', '.join(_supported(obj))}.",
        )
    verb = verb or "list"
    if (
        verb == "get"
        and obj.singular.replace("-", " ") not in padded
        and "by id" not in padded
        and " id " not in padded
    ):
        verb = "list"
    if verb == "search" and not obj.searchable:
        verb = "list"
    if verb not in _supported(obj):
        return _error(
            "unsupported_operation",
            f"{app.name} {obj.label} cannot be '{verb}'-ed here; supported: {', '.join(_supported(obj))}.",
        )
    parsed = parse_conditions(obj, text, app.created_field)
    if parsed.unexpressed:
        return _error(
            "unsupported_condition",
            f"Cannot build '{text}' for {app.name} {obj.label}: the condition "
            f"{', '.join(repr(u) for u in parsed.unexpressed[:3])} is not one this builder can express "
            f"(it takes '<field> below/above/at least/at most N', '<field> between X and Y', "
            f"'<field> contains \"text\"', 'sorted by <field>', 'newest', 'first N' with fields "
            f"{obj.label} has). Rephrase it, or build without it and filter the results.",
        )
    if (parsed.conditions or parsed.sort or parsed.limit is not None) and verb not in (
        "list",
        "search",
        "count",
    ):
        return _error(
            "unsupported_condition",
            f"Conditions apply to list, search and count actions; '{verb}' on {app.name} {obj.label} "
            f"takes none ({describe(parsed)}).",
        )
    fields = find_fields(obj, text, phrase) if verb in ("list", "search", "get") else []
    projection = list(dict.fromkeys([obj.name_field, *fields])) if fields else None
    noun = obj.plural if verb in ("list", "search", "count") else obj.singular
    base = _slug([verb, noun, *(_field_slug(obj, f) for f in fields[:2])])
    existing = {a.key for a in app.actions()}
    key, n = base, 2
    while key in existing:
        key, n = f"{base}-{n}", n + 1
    name = title(key)
    shown = ", ".join(projection) if projection else "all fields"
    desc = {
        "list": f"Lists {app.name} {obj.label} records ({shown}) a page at a time, with optional "
        f"filters and sorting.",
        "search": f"Searches {app.name} {obj.label} by free text and returns the matching records ({shown}).",
        "get": f"Gets one {app.name} {title(obj.singular)} by id and returns it ({shown}).",
        "create": f"Creates a {app.name} {title(obj.singular)} from field values and returns the new record.",
        "update": f"Updates fields of a {app.name} {title(obj.singular)} by id and returns the "
        f"updated record.",
        "delete": f"Deletes a {app.name} {title(obj.singular)} by id.",
        "count": f"Counts {app.name} {obj.label} records, optionally matching filters.",
    }[verb]
    if parsed.conditions or parsed.sort or parsed.limit is not None:
        desc = f"{desc} Only records where: {describe(parsed)}."
    action = app.make_action(verb, obj, projection, key, name, f"{desc} Built from the intent: {text!r}.")
    return ActionSpec(
        key=action.key,
        name=action.name,
        description=action.description,
        type=action.type,
        input_schema=action.input_schema,
        output_schema=action.output_schema,
        impl={**action.impl, "intent": text, **_condition_impl(parsed)},
    )


def _condition_impl(parsed: ParsedConditions) -> dict[str, Any]:
    impl: dict[str, Any] = {}
    if parsed.conditions:
        impl["conditions"] = [list(c) for c in parsed.conditions]
    if parsed.sort:
        impl["sort"] = list(parsed.sort)
    if parsed.limit is not None:
        impl["limit"] = parsed.limit
    return impl


def _first_verb_pos(padded: str) -> int:
    positions = [padded.find(" " + p + " ") for _, ps in VERBS for p in ps]
    return min((p for p in positions if p >= 0), default=len(padded))


def _field_slug(obj: ObjectDef, name: str) -> str:
    f = obj.field(name)
    return _slug(words(f.label)) if f else _slug([name])


def _supported(obj: ObjectDef) -> list[str]:
    verbs = list(obj.ops)
    if obj.searchable:
        verbs.append("search")
    if "list" in obj.ops:
        verbs.append("count")
    return verbs
