"""Validate tool arguments against an action's JSON Schema and report every problem at once.

The low-level MCP server does not validate ``arguments``; we do, so the model gets field-level, actionable
messages in one round trip instead of an opaque upstream 400. Validate against
``schema.resolve_refs(original)``, not the advertised (sanitised) schema.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from membrane_mcp.tools.quick_check import QuickCheck, compile_own_quick_check, compile_quick_check

if TYPE_CHECKING:  # jsonschema is imported at the first validation: a session may never need it
    from jsonschema import FormatChecker
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

__all__ = ["validate_arguments"]

_CACHE_SIZE = 512
MAX_PROBLEMS = 20  # listed per call; the rest are counted
_MAX_MESSAGE_LENGTH = 300
_MAX_VALUE_REPR = 80

# A schema's validator and its quick check (quick_check.py: a fast yes for plainly valid arguments), or
# why the schema cannot be used.
_Compiled = tuple["Validator", QuickCheck | None] | str
_cache: OrderedDict[str, _Compiled] = OrderedDict()
_by_identity: dict[int, tuple[Any, _Compiled]] = {}
_cache_lock = threading.Lock()
# Quick checks of our own schemas, made without jsonschema (`own=True`), by the schema's identity.
_own_checks: dict[int, tuple[Any, QuickCheck | None]] = {}


_preloading = threading.Event()


def preload_in_background(delay_s: float = 0.0) -> None:
    """Import jsonschema in a worker thread (once), `delay_s` from now, so the first validation does not
    wait for it. A validation that needs it sooner imports it itself (the import lock makes that safe).

    Call it when the session has started (after the catalog loads): at import time it would slow the
    start-up it is deferred from.
    """
    if _preloading.is_set():
        return
    _preloading.set()

    def load() -> None:
        import jsonschema.exceptions
        import jsonschema.validators  # noqa: F401

    timer = threading.Timer(delay_s, load)
    timer.name = "preload-jsonschema"
    timer.daemon = True
    timer.start()


def _fingerprint(schema: Any) -> str:
    encoded = json.dumps(schema, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _format_checker(base: FormatChecker) -> FormatChecker:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checkers = dict(base.checkers)
    # jsonschema needs optional packages for these; a stdlib check is better than silently passing.
    if "date-time" not in checker.checkers:

        @checker.checks("date-time", raises=ValueError)
        def _date_time(value: object) -> bool:
            if not isinstance(value, str):
                return True
            if "t" not in value.lower():
                return False
            parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
            return parsed.tzinfo is not None

    if "time" not in checker.checkers:

        @checker.checks("time", raises=ValueError)
        def _time(value: object) -> bool:
            if not isinstance(value, str):
                return True
            return dt.time.fromisoformat(value.replace("z", "Z")).tzinfo is not None

    return checker


def _compile(schema: dict[str, Any] | bool) -> _Compiled:
    from jsonschema import validators
    from jsonschema.exceptions import SchemaError

    cls = validators.validator_for(schema) if isinstance(schema, dict) else validators.validator_for({})
    try:
        cls.check_schema(schema)  # type: ignore[arg-type]  # booleans are valid schemas too
    except SchemaError as error:
        where = _path(error.absolute_path)
        return (
            f"the tool's input schema is invalid ({error.message}"
            f"{f' at `{where}`' if where else ''}), so the arguments could not be validated"
        )
    validator = cls(schema, format_checker=_format_checker(cls.FORMAT_CHECKER))
    return validator, compile_quick_check(schema, validator)


def _validator(schema: dict[str, Any] | bool) -> _Compiled:
    # Catalog schemas are shared, read-only objects: the same object again skips the fingerprint (a
    # canonical JSON dump and a hash of the schema, on every call otherwise).
    seen = _by_identity.get(id(schema))
    if seen is not None and seen[0] is schema:
        return seen[1]
    key = _fingerprint(schema)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
    if cached is None:
        cached = _compile(schema)
        with _cache_lock:
            _cache[key] = cached
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    with _cache_lock:
        if len(_by_identity) >= _CACHE_SIZE:
            _by_identity.clear()
        _by_identity[id(schema)] = (schema, cached)  # holds the schema, so its id is not reused
    return cached


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_REPR else f"{text[: _MAX_VALUE_REPR - 1]}…"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE_LENGTH else f"{text[: _MAX_MESSAGE_LENGTH - 1]}…"


def _children(error: ValidationError, names: list[str]) -> list[str]:
    return [_path([*error.absolute_path, name]) for name in names]


def _messages(error: ValidationError) -> list[tuple[str, str]]:
    """(path, message) pairs for one error; some errors name a child field rather than the object."""
    where = _path(error.absolute_path)
    kind = error.validator
    instance = error.instance
    if kind == "required" and isinstance(error.validator_value, list) and isinstance(instance, dict):
        missing = [name for name in error.validator_value if name not in instance]
        return [(field, f"missing required field `{field}`") for field in _children(error, missing)]
    if kind == "additionalProperties" and isinstance(instance, dict) and isinstance(error.schema, dict):
        extras = [name for name in instance if name not in (error.schema.get("properties") or {})]
        patterns = error.schema.get("patternProperties") or {}
        if not patterns and extras:
            shown = sorted(extras)[: MAX_PROBLEMS - 1]
            pairs = [(field, f"unexpected field `{field}`") for field in _children(error, shown)]
            if len(extras) > len(shown):
                rest = len(extras) - len(shown)
                pairs.append((f"{where}\uffff", f"{_where(where)}{rest} more unexpected field(s) not listed"))
            return pairs
    if kind == "format":
        message = f"{_short(instance)} is not a valid {error.validator_value!r}"
    elif kind in ("type", "enum", "const"):
        message = error.message.replace(repr(instance), _short(instance), 1)
    elif kind in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        closest = best_match(error.context)
        inner = _path(closest.absolute_path)
        detail = f"{f'`{inner}`: ' if inner and inner != where else ''}{closest.message}"
        message = f"{_short(instance)} does not match any allowed form (closest: {detail})"
    elif kind == "oneOf":
        message = f"{_short(instance)} matches more than one allowed form; it must match exactly one"
    else:
        message = error.message
    return [(where, f"`{where}`: {message}" if where else message)]


def _where(where: str) -> str:
    return f"`{where}`: " if where else ""


def _at_most(messages: list[str]) -> list[str]:
    if len(messages) <= MAX_PROBLEMS:
        return messages
    return [*messages[:MAX_PROBLEMS], f"... and {len(messages) - MAX_PROBLEMS} more problem(s) not listed"]


def _expects_object(schema: dict[str, Any] | bool) -> bool:
    declared = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(declared, str):
        return declared == "object"
    if isinstance(declared, list):
        return "object" in declared
    return True


def _own_quick_check(schema: dict[str, Any]) -> QuickCheck | None:
    seen = _own_checks.get(id(schema))
    if seen is not None and seen[0] is schema:
        return seen[1]
    quick = compile_own_quick_check(schema)
    with _cache_lock:
        if len(_own_checks) >= _CACHE_SIZE:
            _own_checks.clear()
        _own_checks[id(schema)] = (schema, quick)  # holds the schema, so its id is not reused
    return quick


def validate_arguments(schema: dict[str, Any], arguments: Any, *, own: bool = False) -> list[str]:
    """The problems with ``arguments`` under ``schema``, as sorted, field-named messages ([] if valid).

    At most ``MAX_PROBLEMS`` are listed; a last line counts the others.

    When the schema's root expects an object (``type: object`` or no ``type``), ``None`` counts as ``{}``
    (MCP makes ``arguments`` optional) and any other non-object is an error. A schema whose root declares
    only non-object types (the value unwrapped from a wrapped tool's ``input``) validates the value as is.
    An invalid schema yields one message saying so instead of raising.

    ``own``: the schema is one of ours, valid (a meta tool's): arguments the quick check accepts are
    answered without jsonschema (not imported for them); the rest are validated as any others.
    """
    if not isinstance(schema, dict | bool):
        return [f"the tool's input schema is not a JSON object ({type(schema).__name__})"]
    if _expects_object(schema):
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            return [f"arguments must be a JSON object, got {type(arguments).__name__} {_short(arguments)}"]
    if own and isinstance(schema, dict):
        own_quick = _own_quick_check(schema)
        if own_quick is not None and own_quick(arguments):
            return []
    compiled = _validator(schema)
    if isinstance(compiled, str):
        return [compiled]
    validator, quick = compiled
    if quick is not None and quick(arguments):
        return []  # plainly valid: jsonschema would find nothing (it runs when the quick check is unsure)
    try:
        pairs = {pair for error in validator.iter_errors(arguments) for pair in _messages(error)}
    except Exception as error:  # unresolvable $ref, bad regex in the schema, ...
        return [f"the tool's input schema could not be applied ({type(error).__name__}: {_clip(str(error))})"]
    return _at_most([_clip(message) for _, message in sorted(pairs)])
