"""Make Membrane input schemas acceptable to MCP hosts without losing information.

Membrane hands us JSON Schema as written by connector authors. We advertise it as the tool's
``inputSchema`` almost verbatim: descriptions, enums, formats, defaults, examples, ``additionalProperties``,
nested objects and arrays, and ``anyOf``/``oneOf``/``allOf`` *below* the root are kept. Only what hosts or
model APIs are known to reject is changed, and every change is recorded in ``SanitizedSchema.changes``:

- **``$schema`` / ``$id`` at the root are dropped.** Some model APIs reject a ``$schema`` key; MCP already
  defaults tool schemas to JSON Schema 2020-12.
- **Local ``$ref``s are inlined and ``$defs`` / ``definitions`` removed.** Several hosts reject
  ``$ref``/``$defs``. A ``$ref`` with sibling keywords becomes the merged schema when the siblings are only
  annotations, otherwise ``allOf: [target]`` next to the siblings (2020-12 applies both). Recursive refs
  are expanded twice, then replaced by ``{"type": ..., "description": "... (recursive; see <ref>)"}``.
  Refs that cannot be resolved locally (remote URLs, anchors, dangling pointers) are replaced by their
  siblings alone, i.e. no constraint.
- **A missing or non-object schema becomes ``{"type": "object", "properties": {}, "additionalProperties":
  true}``.** The MCP spec requires an object root.
- **A root without ``type`` but with object keywords gets ``type: object``**, a root typed
  ``["object", ...]`` gets ``type: object`` (tool arguments are always an object), and an object root
  without ``properties`` gets ``properties: {}`` (some hosts require the key).
- **A non-object root (string, array, ...) is wrapped** as ``{"type": "object", "properties": {"input":
  <schema>}, "required": ["input"]}``; ``wrapped_key`` is then ``"input"`` and the server must unwrap.
- **A top-level ``allOf``/``anyOf``/``oneOf`` is lifted**, because many hosts reject combinators at the
  root. ``allOf`` branches are merged into the root. ``anyOf``/``oneOf`` branches become one object with
  the union of their properties (a property typed differently per branch gets a nested ``anyOf``),
  ``required`` is the intersection, and the description spells out which argument combinations are valid.
  Branches that can never match an object are dropped. This is an *approximation*: the server validates
  arguments against ``resolve_refs(original)``, so no constraint is actually lost.
- **A schema that is still not valid JSON Schema 2020-12** (e.g. draft-04 boolean ``exclusiveMinimum``)
  is advertised as the permissive object schema, so one bad action cannot poison a host session.

``resolve_refs`` returns the original schema with local refs inlined (recursive refs are kept as ``$ref``
next to the original ``$defs``) and is what arguments should be validated against: it accepts exactly
what the original accepts, apart from the unresolvable refs noted above.
"""

from __future__ import annotations

import copy
import functools
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

__all__ = ["SanitizedSchema", "resolve_refs", "sanitize_input_schema"]

WRAPPED_KEY = "input"
_COMBINATORS = ("allOf", "anyOf", "oneOf")
_MAX_RECURSIVE_EXPANSIONS = 2
# Guards against exponential growth when many definitions reference each other.
_MAX_INLINED_REFS = 2000

_SCHEMA_MAP_KEYWORDS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
)
_SCHEMA_KEYWORDS = frozenset(
    {
        "additionalProperties", "items", "contains", "propertyNames", "not", "if", "then", "else",
        "unevaluatedItems", "unevaluatedProperties", "additionalItems", "contentSchema",
    }
)  # fmt: skip
_SCHEMA_LIST_KEYWORDS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_LIST_OR_ITEMS = _SCHEMA_LIST_KEYWORDS | {"items"}  # `items` is a list of schemas before 2020-12
# Keywords that only annotate; a $ref whose siblings are all annotations can be merged into its target.
_ANNOTATION_KEYWORDS = frozenset(
    {
        "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
        "$comment", "$anchor", "$id", "$schema",
    }
)  # fmt: skip
_OBJECT_KEYWORDS = frozenset(
    {
        "properties", "required", "additionalProperties", "patternProperties", "propertyNames",
        "minProperties", "maxProperties", "dependentRequired", "dependentSchemas", "dependencies",
        "unevaluatedProperties",
    }
)  # fmt: skip
_NON_OBJECT_KEYWORDS = frozenset(
    {
        "items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains", "minLength",
        "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
        "multipleOf", "enum", "const",
    }
)  # fmt: skip

PERMISSIVE_OBJECT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": True}


@dataclass(frozen=True)
class SanitizedSchema:
    schema: dict[str, Any]
    # "input" when a non-object root was wrapped: the server passes arguments["input"] to the action.
    wrapped_key: str | None
    changes: tuple[str, ...]


# ---------------------------------------------------------------------------------------------------
# Walking schemas: only keyword positions hold subschemas; enum/const/default/examples are data.


def _copy(value: Any) -> Any:
    """`copy.deepcopy(value)`; a string, number, boolean or None is its own copy (deepcopy returns it too),
    without deepcopy's dispatch (most of a schema's values, thousands per catalog load)."""
    if value is None or type(value) in _ATOMIC:
        return value
    return copy.deepcopy(value)


_ATOMIC = frozenset({str, int, float, bool})


def _map_subschemas(node: dict[str, Any], fn: Callable[[Any], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
            out[key] = {name: fn(sub) for name, sub in value.items()}
        elif key in _SCHEMA_KEYWORDS and isinstance(value, dict | bool):
            out[key] = fn(value)
        elif key in _SCHEMA_LIST_OR_ITEMS and isinstance(value, list):
            out[key] = [fn(sub) for sub in value]
        elif key == "dependencies" and isinstance(value, dict):
            out[key] = {k: fn(v) if isinstance(v, dict | bool) else _copy(v) for k, v in value.items()}
        else:
            out[key] = _copy(value)
    return out


def _pointer_target(root: Any, ref: str) -> tuple[bool, Any]:
    if not ref.startswith("#") or (len(ref) > 1 and not ref.startswith("#/")):
        return False, None
    node = root
    for raw in ref[2:].split("/") if len(ref) > 1 else []:
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return isinstance(node, dict | bool), node


class _Inliner:
    """Inline local refs. ``max_repeats`` bounds how often one ref may be open on the expansion stack."""

    def __init__(self, root: Any, *, max_repeats: int, placeholder: bool, legacy_ref_siblings: bool) -> None:
        self.root = root
        self.max_repeats = max_repeats
        self.placeholder = placeholder
        self.legacy = legacy_ref_siblings
        self.stack: list[str] = []
        self.inlined = 0
        self.recursive: set[str] = set()
        self.unresolved: set[str] = set()
        self.budget_hit = False

    def walk(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return copy.deepcopy(node)
        if isinstance(node.get("$ref"), str):
            return self._inline_ref(node)
        return _map_subschemas(node, self.walk)

    def _inline_ref(self, node: dict[str, Any]) -> Any:
        ref: str = node["$ref"]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if self.legacy:
            # Drafts <= 7 ignore every keyword next to $ref; keep annotations only.
            siblings = {k: v for k, v in siblings.items() if k in _ANNOTATION_KEYWORDS}
        found, target = _pointer_target(self.root, ref)
        if not found:
            self.unresolved.add(ref)
            return self.walk(siblings)
        over_budget = self.inlined >= _MAX_INLINED_REFS
        if self.stack.count(ref) >= self.max_repeats or over_budget:
            self.budget_hit |= over_budget
            self.recursive.add(ref)
            if self.placeholder:
                return self._placeholder(ref, target, siblings)
            return {"$ref": ref, **self.walk(siblings)}
        self.inlined += 1
        self.stack.append(ref)
        try:
            resolved = self.walk(target)
        finally:
            self.stack.pop()
        walked_siblings = self.walk(siblings)
        if not walked_siblings:
            return resolved
        if isinstance(resolved, dict) and set(walked_siblings) <= _ANNOTATION_KEYWORDS:
            return {**resolved, **walked_siblings}
        combined = walked_siblings.get("allOf")
        all_of = [*combined, resolved] if isinstance(combined, list) else [resolved]
        return {**walked_siblings, "allOf": all_of}

    @staticmethod
    def _placeholder(ref: str, target: Any, siblings: dict[str, Any]) -> dict[str, Any]:
        label = ref.rsplit("/", 1)[-1] or "schema"
        out: dict[str, Any] = {}
        if isinstance(target, dict):
            if isinstance(target.get("type"), str | list):
                out["type"] = copy.deepcopy(target["type"])
            label = str(target.get("title") or target.get("description") or label)
        described = siblings.get("description")
        base = described if isinstance(described, str) else label
        out["description"] = f"{base} (recursive; see {ref})"
        return out


def _is_legacy_dialect(schema: dict[str, Any]) -> bool:
    dialect = schema.get("$schema")
    return isinstance(dialect, str) and any(f"draft-0{n}" in dialect for n in range(3, 8))


def _strip_defs(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    return _map_subschemas({k: v for k, v in node.items() if k not in ("$defs", "definitions")}, _strip_defs)


def resolve_refs(schema: Any) -> Any:
    """The original schema with local refs inlined; validating against it accepts what the original does.

    Recursive refs stay as ``$ref`` (the original ``$defs``/``definitions`` are then kept so they still
    resolve). Unresolvable refs are dropped (treated as no constraint). Non-dict input is returned as is.
    """
    if not isinstance(schema, dict):
        return copy.deepcopy(schema)
    inliner = _Inliner(
        schema, max_repeats=1, placeholder=False, legacy_ref_siblings=_is_legacy_dialect(schema)
    )
    resolved = inliner.walk(schema)
    if not inliner.recursive and isinstance(resolved, dict):
        resolved = _strip_defs(resolved)
    return resolved


# ---------------------------------------------------------------------------------------------------
# Root shape.


def _object_like(node: Any) -> bool:
    """Could this (ref-free) schema accept a JSON object?"""
    if node is True:
        return True
    if not isinstance(node, dict):
        return False
    all_of, any_of, one_of = (node.get(k) for k in _COMBINATORS)
    if isinstance(all_of, list) and not all(_object_like(b) for b in all_of):
        return False
    for branches in (any_of, one_of):
        if isinstance(branches, list) and not any(_object_like(b) for b in branches):
            return False
    declared = node.get("type")
    if isinstance(declared, str):
        return declared == "object"
    if isinstance(declared, list):
        return "object" in declared
    # Untyped: judge by intent. Object keywords or combinators whose branches allow objects win over
    # keywords that only constrain other types (an untyped {"minLength": 2, "allOf": [...]} is object-ish).
    if any(k in node for k in (*_OBJECT_KEYWORDS, *_COMBINATORS)):
        return True
    return not any(k in node for k in _NON_OBJECT_KEYWORDS)


def _code_list(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _merge_property(existing: Any, incoming: Any, combinator: str) -> Any:
    if existing == incoming:
        return existing
    branches = (
        existing.get(combinator) if isinstance(existing, dict) and set(existing) == {combinator} else None
    )
    if isinstance(branches, list):
        return existing if incoming in branches else {combinator: [*branches, incoming]}
    return {combinator: [existing, incoming]}


class _Lifter:
    def __init__(self) -> None:
        self.changes: list[str] = []

    def lift(self, node: dict[str, Any]) -> dict[str, Any]:
        """Return ``node`` (object-like, ref-free) with no combinator at its top level."""
        result = {k: v for k, v in node.items() if k not in _COMBINATORS}
        if isinstance(node.get("allOf"), list):
            branches = [self._branch(b) for b in node["allOf"]]
            result = self._merge([result, *[b for b in branches if b is not None]], "allOf")
            self.changes.append("Merged the top-level `allOf` branches into one object schema.")
        for combinator in ("anyOf", "oneOf"):
            if isinstance(node.get(combinator), list):
                raw = node[combinator]
                branches = [b for b in (self._branch(b) for b in raw) if b is not None]
                if len(branches) < len(raw):
                    self.changes.append(
                        f"Dropped {len(raw) - len(branches)} top-level `{combinator}` branch(es) that can "
                        "never match an arguments object."
                    )
                result = self._merge(
                    [result, self._union([b for b in branches if b is not None], combinator)], "allOf"
                )
                self.changes.append(
                    f"Lifted the top-level `{combinator}` into one object: properties unioned, `required` "
                    "intersected, valid combinations listed in the description."
                )
        return result

    def _branch(self, branch: Any) -> dict[str, Any] | None:
        if branch is True:
            return {}
        if not _object_like(branch):
            return None
        return self.lift(branch)

    def _merge(self, parts: list[dict[str, Any]], combinator: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for part in parts:
            for key, value in part.items():
                if key not in merged:
                    merged[key] = copy.deepcopy(value)
                elif key == "type":
                    merged[key] = "object"
                elif key in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
                    for name, sub in value.items():
                        current = merged[key].get(name)
                        merged[key][name] = (
                            sub if current is None else _merge_property(current, sub, combinator)
                        )
                elif key == "required" and isinstance(value, list):
                    merged[key] = list(dict.fromkeys([*merged[key], *value]))
                elif key == "description" and isinstance(value, str) and isinstance(merged[key], str):
                    if value not in merged[key]:
                        merged[key] = f"{merged[key]}\n\n{value}"
                elif key == "additionalProperties":
                    if merged[key] != value:
                        merged[key] = False if False in (merged[key], value) else True
                elif merged[key] != value and key not in _ANNOTATION_KEYWORDS:
                    self.changes.append(f"Conflicting `{key}` while merging `allOf`; kept the first value.")
        if merged.get("type") not in (None, "object"):
            merged["type"] = "object"
        return merged

    def _union(self, branches: list[dict[str, Any]], combinator: str) -> dict[str, Any]:
        union: dict[str, Any] = {"type": "object"}
        if not branches:
            return union
        properties: dict[str, Any] = {}
        for branch in branches:
            for name, sub in (branch.get("properties") or {}).items():
                properties[name] = (
                    sub if name not in properties else _merge_property(properties[name], sub, "anyOf")
                )
        union["properties"] = properties
        required_sets = [list(b.get("required") or []) for b in branches]
        common = [name for name in required_sets[0] if all(name in r for r in required_sets[1:])]
        if common:
            union["required"] = common
        extras = [b.get("additionalProperties", True) for b in branches]
        if all(e is False for e in extras):
            union["additionalProperties"] = False
        shared = set.intersection(*(set(b) for b in branches)) - {
            "properties", "required", "additionalProperties", "type", "title", "description",
        }  # fmt: skip
        dropped: set[str] = set()
        for key in sorted(set().union(*(set(b) for b in branches)) - shared):
            if key not in ("properties", "required", "additionalProperties", "type", "title", "description"):
                dropped.add(key)
        for key in sorted(shared):
            if all(b[key] == branches[0][key] for b in branches):
                union[key] = copy.deepcopy(branches[0][key])
            else:
                dropped.add(key)
        if dropped:
            self.changes.append(
                f"Branch-level {_code_list(sorted(dropped))} of the top-level `{combinator}` could not be "
                "expressed on the lifted object; the server still enforces them."
            )
        union["description"] = self._describe_combinations(branches, combinator)
        return union

    @staticmethod
    def _describe_combinations(branches: list[dict[str, Any]], combinator: str) -> str:
        quantifier = "exactly one" if combinator == "oneOf" else "at least one"
        lines = [f"Valid argument combinations ({quantifier} must match):"]
        for index, branch in enumerate(branches, 1):
            required = [r for r in branch.get("required") or [] if isinstance(r, str)]
            optional = [p for p in branch.get("properties") or {} if p not in required]
            parts = []
            if required:
                parts.append(f"requires {_code_list(required)}")
            if optional:
                parts.append(f"optional {_code_list(optional)}")
            if branch.get("additionalProperties") is False:
                parts.append("nothing else")
            summary = "; ".join(parts) or "any arguments"
            label = branch.get("title") or branch.get("description")
            lines.append(
                f"{index}. {label}: {summary}." if isinstance(label, str) else f"{index}. {summary}."
            )
        return "\n".join(lines)


def _finite_numbers_only(node: Any) -> bool:
    if isinstance(node, float):
        return math.isfinite(node)
    if isinstance(node, dict):
        return all(_finite_numbers_only(v) for v in node.values())
    if isinstance(node, list):
        return all(_finite_numbers_only(v) for v in node)
    return True


def sanitize_input_schema(schema: Any) -> SanitizedSchema:
    """The host-acceptable ``inputSchema`` for an action's input schema (see the module docstring)."""
    if not isinstance(schema, dict):
        what = "Missing" if schema is None else f"Non-object ({type(schema).__name__})"
        return SanitizedSchema(
            copy.deepcopy(PERMISSIVE_OBJECT_SCHEMA),
            None,
            (f"{what} input schema replaced by an object schema accepting any arguments.",),
        )
    changes: list[str] = []
    inliner = _Inliner(schema, max_repeats=_MAX_RECURSIVE_EXPANSIONS, placeholder=True,
                       legacy_ref_siblings=_is_legacy_dialect(schema))  # fmt: skip
    walked = inliner.walk(schema)
    result: Any = _strip_defs(walked)
    if inliner.inlined:
        changes.append(f"Inlined {inliner.inlined} local `$ref`(s) and removed `$defs`/`definitions`.")
    elif result != walked:
        changes.append("Removed unused `$defs`/`definitions`.")
    if inliner.recursive:
        changes.append(
            f"Recursive {_code_list(sorted(inliner.recursive))} expanded {_MAX_RECURSIVE_EXPANSIONS} levels "
            "deep, then replaced by a placeholder."
        )
    if inliner.budget_hit:
        changes.append(f"Stopped inlining after {_MAX_INLINED_REFS} refs; deeper refs are placeholders.")
    if inliner.unresolved:
        changes.append(
            f"Could not resolve {_code_list(sorted(inliner.unresolved))}; those refs accept any value."
        )
    for key in ("$schema", "$id"):
        if key in result:
            del result[key]
            changes.append(f"Dropped the root `{key}` key.")

    wrapped_key: str | None = None
    if not _object_like(result):
        description = "The action takes a single value; pass it as `input`."
        result = {
            "type": "object",
            "description": description,
            "properties": {WRAPPED_KEY: result},
            "required": [WRAPPED_KEY],
        }
        wrapped_key = WRAPPED_KEY
        changes.append(f"Wrapped the non-object root schema as the required property `{WRAPPED_KEY}`.")
    elif any(k in result for k in _COMBINATORS):
        lifter = _Lifter()
        result = lifter.lift(result)
        changes.extend(dict.fromkeys(lifter.changes))

    if result.get("type") != "object":
        if "type" in result:
            changes.append(f"Root `type` {result['type']!r} narrowed to 'object' (arguments are an object).")
        else:
            changes.append("Added `type: object` to the root.")
        result["type"] = "object"
    if "properties" not in result:
        result["properties"] = {}
        changes.append("Added empty `properties` to the root.")

    problem = schema_problem(result)
    if problem is not None:
        return SanitizedSchema(
            copy.deepcopy(PERMISSIVE_OBJECT_SCHEMA),
            None,
            (
                *changes,
                f"The schema is not valid JSON Schema 2020-12 ({problem}); advertised an object "
                "schema accepting any arguments instead.",
            ),
        )
    return SanitizedSchema(result, wrapped_key, tuple(changes))


def schema_problem(schema: dict[str, Any]) -> str | None:
    """Why `schema` is not valid JSON Schema 2020-12, or None when it is.

    Checked against the 2020-12 meta-schema with jsonschema-rs: the pure-Python check costs about 5 ms
    per schema (mostly `$dynamicRef` resolution) and dominated a cold catalog load; this one costs 0.01 ms.
    """
    if not _finite_numbers_only(schema):
        return "the schema contains NaN or infinite numbers"
    import jsonschema_rs  # at the first check, not at start-up

    try:
        jsonschema_rs.meta.validate(schema)
    except jsonschema_rs.ValidationError as error:
        return error.message
    except jsonschema_rs.ReferencingError as error:
        return str(error)
    return None


# ---------------------------------------------------------------------------------------------------
# Compacting a schema for a model: drop descriptions that only repeat what sits beside them.

_FILTER_LABEL = re.compile(r"^Only records whose (.+) equals this value\.$")
_ENUM_LEAD = re.compile(r"\s*\b(one of|values?|allowed|possible)\b[^:]*:", re.IGNORECASE)


def compact_schema(schema: Any, action_name: str = "") -> Any:
    """The schema without descriptions that only repeat their property's name or the enum beside them,
    and without keywords that only restate the spec's default (`required: []`, `additionalProperties:
    true`).

    With `action_name` (what the tool's name says: 'Delete Asset'), a top-level property's description
    made only of its own name's words, the action's words and connectives ('Id of the Assets record to
    delete.' for `id`) goes too: the tool's name sits beside it.

    Everything else (enums, formats, defaults, required, constraints, other descriptions) is kept; only
    keyword positions are walked, so enum/const/default/examples data is never touched. The result
    accepts exactly the instances the schema accepts (only annotations and default-valued keywords go).
    """
    # `additionalProperties: true` marks properties as evaluated for an `unevaluatedProperties` around it;
    # looked for (once) only when there is one to drop.
    unevaluated: list[bool] = []

    def may_drop_open() -> bool:
        if not unevaluated:
            unevaluated.append(_has_key(schema, "unevaluatedProperties"))
        return not unevaluated[0]

    return _compact(schema, may_drop_open, _singular_words(action_name) if action_name else frozenset())


def _has_key(node: Any, key: str) -> bool:
    if isinstance(node, dict):
        return key in node or any(_has_key(value, key) for value in node.values())
    if isinstance(node, list):
        return any(_has_key(item, key) for item in node)
    return False


def _compact(schema: Any, may_drop_open: Callable[[], bool], context: frozenset[str] = frozenset()) -> Any:
    """`context`: words the tool's name adds, for the properties of this (root) schema only."""
    if not isinstance(schema, dict):
        return schema
    out = _map_subschemas(schema, lambda sub: _compact(sub, may_drop_open))
    if out.get("additionalProperties") is True and may_drop_open():
        del out["additionalProperties"]  # the same as no `additionalProperties`
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            name: _without_name_repeat(name, prop, context) for name, prop in out["properties"].items()
        }
    if out.get("required") == []:
        del out["required"]  # the same as no `required`
    description, enum = out.get("description"), out.get("enum")
    if isinstance(description, str) and isinstance(enum, list):
        out["description"] = _without_enum_list(description, enum)
        if not out["description"]:
            del out["description"]
    return out


def _without_name_repeat(name: str, prop: Any, context: frozenset[str] = frozenset()) -> Any:
    """A property's description that says no more than its name (and `context`) goes; a filter's keeps
    only its label."""
    if not isinstance(prop, dict) or not isinstance(prop.get("description"), str):
        return prop
    description = prop["description"]
    label = _FILTER_LABEL.match(description)
    if label:
        description = label.group(1)
    if _only_names(description, name, context):
        return {key: value for key, value in prop.items() if key != "description"}
    return {**prop, "description": description}


@functools.lru_cache(maxsize=16384)  # labels, names and actions repeat across apps and listings
def _only_names(description: str, name: str, context: frozenset[str] = frozenset()) -> bool:
    """True when a description is a label made of its property name's words ('Billing Street' for
    billing_address_street, 'New Office Phone' for phone_office in an update, 'Account (id of a Account
    record)' for account_id), with connectives and, given as `context`, the words of the tool's action
    ('Id of the Assets record to delete.' for `id` of Delete Asset): it tells a model nothing the names
    don't. Plurals count as their singular."""
    words = plain_words(description).split()
    if words[:1] == ["new"] and len(words) > 1:
        words = words[1:]
    own = _singular_words(name)
    singular = [_singular(word) for word in words]
    # At least one word of its own name: a label that only echoes the action ('Note' for `description`
    # of Create Note) names the field differently, which can tell a model something.
    return any(word in own for word in singular) and all(
        word in _CONNECTIVES or singular_word in own or singular_word in context
        for word, singular_word in zip(words, singular, strict=True)
    )


# Words that only join names: 'Id of the Assets record to delete', 'Field to sort by'.
_CONNECTIVES = frozenset({"a", "an", "the", "of", "to", "by", "for", "record", "field"})


@functools.lru_cache(maxsize=16384)
def _singular_words(text: str) -> frozenset[str]:
    return frozenset(_singular(word) for word in plain_words(text).split())


def _singular(word: str) -> str:
    """'assets' -> 'asset', 'opportunities' -> 'opportunity', 'addresses' -> 'address': enough to match
    a label's plural with a name's singular (both sides go through it)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


_CAMEL_BOUNDARY = re.compile(r"([a-z])([A-Z])")
_PLAIN_WORD = re.compile(r"[a-z0-9]+")


@functools.lru_cache(maxsize=16384)  # property names and labels repeat across a catalog's schemas
def plain_words(text: str) -> str:
    """Lowercase words of `text`, camelCase split: 'Billing Street' and 'billing_street' read the same."""
    return " ".join(_PLAIN_WORD.findall(_CAMEL_BOUNDARY.sub(r"\1 \2", text).lower()))


def _without_enum_list(description: str, enum: list[Any]) -> str:
    """'Vtiger module name. One of: Contacts, Leads, …' -> 'Vtiger module name.' when the part after
    'One of' names the enum's values again."""
    match = _ENUM_LEAD.search(description)
    if match is None:
        return description
    tail = description[match.end() :]
    values = [str(v) for v in enum]
    if values and sum(1 for v in values if v in tail) >= max(1, len(values) // 2):
        return description[: match.start()].rstrip()
    return description
