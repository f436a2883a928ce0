"""The last line of defence for secrets: scrub known secret values from logs and tool results.

The code is written not to log or return secrets in the first place (SecretStr
settings, credential objects with masked reprs, no header logging). This module
catches what slips through anyway: every log record is formatted and scrubbed when it
is created (so it covers every handler, including ones added later, and exception
tracebacks), and `scrub` cleans a tool result before it leaves the server.

Scrubbed: the values registered with `protect` (Membrane token, workspace secret, the
MCP HTTP bearer tokens), plus anything shaped like a bearer credential or a JWT.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
from collections.abc import Iterable
from typing import Any

MASK = "***"
MIN_SECRET_LENGTH = 4

_BEARER = r"(?i:\b(?P<bearer>bearer\s+))[A-Za-z0-9._~+/=-]{8,}"
_JWT = r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+"


def _compile(secrets: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for everything scrubbed: the registered values (longest first), bearer credentials, JWTs."""
    return re.compile("|".join([*map(re.escape, secrets), _BEARER, _JWT]))


_lock = threading.Lock()
_secrets: tuple[str, ...] = ()
_pattern = _compile(())
# Substrings without which nothing can match: found with C substring search, far cheaper than the regex
# (an alternation has no literal prefix to skip ahead on), which then runs only on a suspect text.
_needles: tuple[str, ...] = ("eyJ",)
_installed = False


def protect(values: Iterable[str | None]) -> None:
    """Register secret values (idempotent) and make sure every log record is scrubbed."""
    global _secrets, _pattern, _needles, _installed
    with _lock:
        known = set(_secrets)
        known.update(v for v in values if v and len(v) >= MIN_SECRET_LENGTH)
        # Longest first, so a secret that contains another is masked whole.
        _secrets = tuple(sorted(known, key=len, reverse=True))
        _pattern = _compile(_secrets)
        _needles = (*_secrets, "eyJ")
        if not _installed:
            _install_record_factory()
            _installed = True


def secret_values(settings: Any) -> list[str]:
    """The secrets a `Settings` holds, in clear (for registering them, never for printing)."""
    values: list[str] = []
    for name in ("token", "workspace_secret", "auth_tokens"):
        secret = getattr(settings, name, None)
        if secret is not None:
            values.append(secret.get_secret_value())
    values.extend(getattr(settings, "bearer_tokens", []))
    return values


def _suspect(text: str) -> bool:
    return any(needle in text for needle in _needles) or "bearer" in text.lower()


def _mask(match: re.Match[str]) -> str:
    return (match.group("bearer") or "") + MASK


def redact(text: str) -> str:
    if not _suspect(text):
        return text
    return _pattern.sub(_mask, text)


def contains_secret(text: str) -> bool:
    return _suspect(text) and _pattern.search(text) is not None


def scrub(value: Any) -> Any:
    """A copy of a JSON-like value with secrets masked in every string (keys included)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub_record(record)
        return record

    logging.setLogRecordFactory(factory)


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it later; scrub what we can
        message = str(record.msg)
    cleaned = redact(message)
    if cleaned != message or record.args:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def scrub_model(model: Any) -> Any:
    """A pydantic model (e.g. a CallToolResult) with secrets masked; the same object when it holds none.

    A tool result is checked over its text blocks and one compact JSON encoding of its structured content
    and meta (no model dump); only a result that holds a secret is dumped, scrubbed and rebuilt.
    """
    texts = _result_texts(model)
    if texts is not None and not any(contains_secret(text) for text in texts):
        return model
    dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    if not contains_secret(json.dumps(dumped, ensure_ascii=False)):
        return model
    return type(model).model_validate(scrub(dumped))


def _result_texts(model: Any) -> list[str] | None:
    """Every text a CallToolResult-shaped model carries, or None when it has other parts (then dump it)."""
    content = getattr(model, "content", None)
    if not isinstance(content, list) or set(type(model).model_fields) - _RESULT_FIELDS:
        return None
    texts: list[str] = []
    for block in content:
        if getattr(block, "type", None) != "text" or set(type(block).model_fields) - _TEXT_FIELDS:
            return None
        texts.append(block.text)
        if block.meta or block.annotations:
            texts.append(json.dumps([block.meta, block.model_dump(mode="json")["annotations"]], default=str))
    for extra in (model.structured_content, model.meta):
        if extra is not None:
            texts.append(json.dumps(extra, ensure_ascii=False, separators=(",", ":"), default=str))
    return texts


_RESULT_FIELDS = frozenset({"content", "structured_content", "is_error", "meta", "result_type"})
_TEXT_FIELDS = frozenset({"type", "text", "annotations", "meta"})
