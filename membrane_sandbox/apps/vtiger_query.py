"""Vtiger's SQL-like query language (the ``/query`` endpoint), parsed and evaluated in Python.

Grammar (keywords case-insensitive, trailing ``;`` optional)::

    SELECT (* | count(*) | col {, col}) FROM Module
      [WHERE cond] [ORDER BY col [ASC|DESC] {, col [ASC|DESC]}] [LIMIT [offset,] n]
    cond := term {OR term};  term := factor {AND factor};  factor := NOT factor | ( cond ) | pred
    pred := col (= | != | <> | < | > | <= | >=) value | col [NOT] LIKE 'pat' | col [NOT] IN (v {, v})
          | col IS [NOT] NULL

Comparisons are numeric when both sides are numbers, else case-insensitive text (as MySQL's
default collation behaves behind a real Vtiger).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


class QueryError(ValueError):
    """A query Vtiger would reject (syntax error, unknown column...)."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|!=|<>|=|<|>)
      | (?P<punct>[(),;*])
      | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
KEYWORDS = frozenset("SELECT FROM WHERE AND OR NOT ORDER BY ASC DESC LIMIT LIKE IN IS NULL COUNT".split())


@dataclass(frozen=True)
class Tok:
    kind: str  # str, num, op, punct, ident, kw
    value: str
    pos: int


def tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"Syntax error near '{text[pos : pos + 15].strip()}' (position {pos})")
        kind = m.lastgroup or ""
        val, start = m.group(kind), m.start(kind)
        if kind == "str":
            quote = val[0]
            val = re.sub(r"\\(.)", r"\1", val[1:-1]).replace(quote * 2, quote)
        elif kind == "ident" and val.upper() in KEYWORDS:
            kind, val = "kw", val.upper()
        toks.append(Tok(kind, val, start))
        pos = m.end()
    return toks


@dataclass
class Query:
    module: str
    columns: list[str] | None  # None means *
    count: bool = False
    where: Predicate | None = None
    where_columns: set[str] = field(default_factory=set)
    order: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(str(v))
    except ValueError:
        return None


def _cmp(a: Any, b: str, op: str) -> bool:
    a_s = "" if a is None else str(a)
    na, nb = _num(a_s), _num(b)
    left: Any
    right: Any
    if na is not None and nb is not None:
        left, right = na, nb
    else:
        left, right = a_s.casefold(), b.casefold()
    if op == "=":
        return bool(left == right)
    if op in ("!=", "<>"):
        return bool(left != right)
    if a_s == "":
        return False  # empty values never satisfy an ordering comparison
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    return bool(left >= right)


def _like(pattern: str) -> re.Pattern[str]:
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{rx}$", re.IGNORECASE | re.DOTALL)


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0
        self.where_columns: set[str] = set()

    def peek(self, offset: int = 0) -> Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def at(self, kind: str, value: str | None = None) -> bool:
        t = self.peek()
        return t is not None and t.kind == kind and (value is None or t.value == value)

    def take(self, kind: str, value: str | None = None) -> Tok:
        t = self.peek()
        if t is None or t.kind != kind or (value is not None and t.value != value):
            want = value or kind
            got = f"'{t.value}'" if t else "end of query"
            raise QueryError(f"Syntax error: expected {want} but found {got}")
        self.i += 1
        return t

    def accept(self, kind: str, value: str | None = None) -> bool:
        if self.at(kind, value):
            self.i += 1
            return True
        return False

    def ident(self) -> str:
        t = self.peek()
        if t is None or t.kind != "ident":
            raise QueryError(
                f"Syntax error: expected a column name but found {repr(t.value) if t else 'end of query'}"
            )
        self.i += 1
        return t.value

    def value(self) -> str:
        t = self.peek()
        if t is not None and t.kind in ("str", "num"):
            self.i += 1
            return t.value
        raise QueryError(f"Syntax error: expected a value but found {repr(t.value) if t else 'end of query'}")

    def parse(self) -> Query:
        self.take("kw", "SELECT")
        columns: list[str] | None = []
        count = False
        if self.accept("punct", "*"):
            columns = None
        elif self.at("kw", "COUNT"):
            self.i += 1
            self.take("punct", "(")
            self.take("punct", "*")
            self.take("punct", ")")
            count, columns = True, None
        else:
            assert columns is not None
            columns.append(self.ident())
            while self.accept("punct", ","):
                columns.append(self.ident())
        self.take("kw", "FROM")
        q = Query(module=self.ident(), columns=columns, count=count)
        if self.accept("kw", "WHERE"):
            q.where = self.cond()
            q.where_columns = self.where_columns
        if self.accept("kw", "ORDER"):
            self.take("kw", "BY")
            while True:
                col = self.ident()
                desc = False
                if self.accept("kw", "DESC"):
                    desc = True
                else:
                    self.accept("kw", "ASC")
                q.order.append((col, desc))
                if not self.accept("punct", ","):
                    break
        if self.accept("kw", "LIMIT"):
            first = int(float(self.take("num").value))
            if self.accept("punct", ","):
                q.offset, q.limit = first, int(float(self.take("num").value))
            else:
                q.limit = first
            if q.limit < 0 or q.offset < 0:
                raise QueryError("LIMIT values must not be negative")
        self.accept("punct", ";")
        if self.peek() is not None:
            raise QueryError(f"Syntax error: unexpected '{self.peek().value}'")  # type: ignore[union-attr]
        return q

    def cond(self) -> Predicate:
        parts = [self.term()]
        while self.accept("kw", "OR"):
            parts.append(self.term())
        if len(parts) == 1:
            return parts[0]
        return lambda r: any(p(r) for p in parts)

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.accept("kw", "AND"):
            parts.append(self.factor())
        if len(parts) == 1:
            return parts[0]
        return lambda r: all(p(r) for p in parts)

    def factor(self) -> Predicate:
        if self.accept("kw", "NOT"):
            inner = self.factor()
            return lambda r: not inner(r)
        if self.accept("punct", "("):
            inner = self.cond()
            self.take("punct", ")")
            return inner
        return self.predicate()

    def predicate(self) -> Predicate:
        col = self.ident()
        self.where_columns.add(col)
        if self.at("op"):
            op = self.take("op").value
            val = self.value()
            return lambda r: _cmp(r.get(col), val, op)
        negate = self.accept("kw", "NOT")
        if self.accept("kw", "LIKE"):
            rx = _like(self.value())
            return lambda r: bool(rx.match(str(r.get(col) or ""))) != negate
        if self.accept("kw", "IN"):
            self.take("punct", "(")
            vals = [self.value()]
            while self.accept("punct", ","):
                vals.append(self.value())
            self.take("punct", ")")
            return lambda r: any(_cmp(r.get(col), v, "=") for v in vals) != negate
        if not negate and self.accept("kw", "IS"):
            is_not = self.accept("kw", "NOT")
            self.take("kw", "NULL")
            return lambda r: (r.get(col) in (None, "")) != is_not
        t = self.peek()
        raise QueryError(
            f"Syntax error: expected an operator after '{col}' but found "
            f"{repr(t.value) if t else 'end of query'}"
        )


def parse(text: str) -> Query:
    if not text or not text.strip():
        raise QueryError("Query is empty")
    return _Parser(text).parse()
