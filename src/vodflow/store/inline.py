"""Short reads on SQLite without aiosqlite: the store's own statements on plain sqlite3.

Through aiosqlite every statement costs several hops to its worker thread (about
1 ms for a COUNT that SQLite answers in 4 µs on a busy 2-core machine), and even
SQLAlchemy's synchronous execution costs some 40x the statement. The hot read
actions (DescribeEventsState, DescribeTaskDetail, DescribeMediaInfos, the credential
and application lookups of every request) therefore run inline on the event
loop's thread: a statement is compiled once for SQLite by SQLAlchemy (so its SQL
is the very statement PostgreSQL runs through asyncpg: there is one definition),
then executed on a plain sqlite3 connection, its values converted by the same
SQLAlchemy type processors. A WAL reader takes no lock, so nothing waits here.

`prepared` marks a statement built once (module constants with `bindparam`s): its
compiled form is kept. Any other statement still works (compiled per call).
`prepared(..., alone=True)` marks a read of one statement: run first, it needs no
transaction (a statement is its own snapshot), so it is spared BEGIN and ROLLBACK.
JSON columns are decoded by json's own scanner (what `json.loads` runs, without its
whitespace checks); any value that scanner does not take whole goes to SQLAlchemy's
processor, so the values are those SQLAlchemy gives.
`InlineReader` and `InlineResult` offer the part of AsyncConnection and its result
that the store's read functions use (`Reader` in store/db.py is either).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import JSON, Executable, Select
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.sql.compiler import SQLCompiler

_DIALECT = SQLiteDialect_pysqlite()
_Stmt = TypeVar("_Stmt", bound=Executable)
# json.loads' scanner, as json.loads configures it.
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _json_processor(fallback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's result processor: the stored text through json's scanner, or
    `fallback` (SQLAlchemy's processor) for anything else (NULL, a number, text with
    surrounding whitespace, or not JSON at all: its error is SQLAlchemy's)."""

    def process(value: Any) -> Any:
        if value.__class__ is str:
            try:
                decoded, end = _SCAN(value, 0)
            except (StopIteration, ValueError):
                return fallback(value)
            if end == len(value):
                return decoded
        return fallback(value)

    return process


def decode_json(value: Any) -> Any:
    """A JSON column's value read as text (`CAST(col AS TEXT)`): decoded as the inline
    reads decode JSON columns, and as SQLAlchemy does."""
    return _DECODE_JSON(value)


class _Plan:
    """A statement compiled for SQLite: its SQL, parameter order and value converters."""

    __slots__ = (
        "alone",
        "binds",
        "compiled",
        "defaults",
        "expanded",
        "expanding",
        "keys",
        "literal",
        "names",
        "results",
        "stmt",
    )

    def __init__(self, stmt: Executable, alone: bool = False) -> None:
        if not isinstance(stmt, Select):
            raise TypeError("inline statements are reads (SELECT) only")
        compiled = stmt.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        self.stmt = stmt  # keeps the id() this plan is filed under alive
        self.alone = alone
        self.compiled = compiled
        self.expanding = [name for name, b in compiled.binds.items() if b.expanding]
        # Values SQLAlchemy writes into the SQL text at execution: expanded every call.
        self.literal = "POSTCOMPILE" in compiled.string and (
            bool(compiled.literal_execute_params) or not self.expanding
        )
        # An IN list's SQL per list length: (SQL, each `?` as (name, index in the list)).
        self.expanded: dict[tuple[int, ...], tuple[str, list[tuple[str, int | None]]]] = {}
        self.names: Sequence[str] = compiled.positiontup or ()
        self.binds: dict[str, Callable[[Any], Any]] = {}
        # Values written into the statement itself (`.limit(10)`, `col == 3`).
        self.defaults = {
            name: b.effective_value for name, b in compiled.binds.items() if not b.required
        }
        for name, bind in compiled.binds.items():
            proc = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            if proc is not None:
                self.binds[name] = proc
        cols = list(stmt.selected_columns)
        self.keys = tuple(stmt.selected_columns.keys())
        self.results: list[tuple[int, Callable[[Any], Any]]] = []
        for i, col in enumerate(cols):
            proc = col.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None)
            if proc is not None:
                self.results.append(
                    (i, _json_processor(proc) if isinstance(col.type, JSON) else proc)
                )

    def sql_and_args(self, params: dict[str, Any] | None) -> tuple[str, tuple[Any, ...]]:
        params = params or {}
        if self.literal:
            return self._expand(params)[0]
        if not self.expanding:
            return self.compiled.string, tuple(self._arg(n, None, params) for n in self.names)
        if any(not params.get(n) for n in self.expanding):
            return self._expand(params)[0]  # an empty (or missing) list: its own SQL
        shape = tuple(len(params[n]) for n in self.expanding)
        recipe = self.expanded.get(shape)
        if recipe is None:
            _, recipe = self._expand(params)
            if len(self.expanded) < 32:  # lists of up to 20 FileIds: a few shapes
                self.expanded[shape] = recipe
        sql, order = recipe
        return sql, tuple(self._arg(name, i, params) for name, i in order)

    def _arg(self, name: str, index: int | None, params: dict[str, Any]) -> Any:
        value: Any = params[name] if name in params else self.defaults[name]
        if index is not None:
            value = value[index]
        proc = self.binds.get(name)
        return proc(value) if proc is not None else value

    def _expand(
        self, params: dict[str, Any]
    ) -> tuple[tuple[str, tuple[Any, ...]], tuple[str, list[tuple[str, int | None]]]]:
        """SQLAlchemy's own expansion of the IN lists: the call's SQL and arguments, and
        the recipe that gives the same for any call with lists of these lengths."""
        state = self.compiled.construct_expanded_state(params)
        values = dict(state.parameters)
        for name, convert in state.processors.items():
            if name in values:
                values[name] = convert(values[name])
        positions = state.positiontup or ()
        back = {
            expanded: (name, i)
            for name, names in state.parameter_expansion.items()
            for i, expanded in enumerate(names)
        }
        order: list[tuple[str, int | None]] = [back.get(k, (k, None)) for k in positions]
        return (state.statement, tuple(values[k] for k in positions)), (state.statement, order)


_PLANS: dict[int, _Plan] = {}
_DECODE_JSON = _json_processor(
    JSON().dialect_impl(_DIALECT).result_processor(_DIALECT, None)  # type: ignore[arg-type]
)


def prepared(stmt: _Stmt, *, alone: bool = False) -> _Stmt:
    """Compile `stmt` (built once, with bind parameters) for inline SQLite reads.

    `alone`: the statement is the whole of its read (nothing else read in the same
    `read_inline` needs to share its snapshot); run first, it runs without BEGIN.
    """
    _PLANS[id(stmt)] = _Plan(stmt, alone)
    return stmt


class InlineResult:
    """The rows of one inline statement, with the accessors the store's reads use."""

    def __init__(self, keys: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        self._keys = keys
        self._rows = rows

    def all(self) -> list[tuple[Any, ...]]:
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise ValueError(f"expected one row, got {len(self._rows)}")
        return self._rows[0][0]

    def mappings(self) -> InlineMappings:
        return InlineMappings([dict(zip(self._keys, r, strict=True)) for r in self._rows])


class InlineMappings:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows)

    def all(self) -> list[dict[str, Any]]:
        return self._rows

    def first(self) -> dict[str, Any] | None:
        return self._rows[0] if self._rows else None


class InlineReader:
    """One read transaction on a plain sqlite3 connection, on the event loop's thread.

    Like `Database.read`, its statements share one snapshot (a deferred transaction
    begun at the first statement, rolled back by `end`). `execute` never yields to
    the event loop: a read costs what SQLite costs, plus converting the values.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.dialect = _DIALECT
        self._begun = False

    async def execute(self, statement: Executable, parameters: Any = None) -> InlineResult:
        plan = _PLANS.get(id(statement))
        if plan is None or plan.stmt is not statement:
            plan = _Plan(statement)  # not prepared: compiled for this call only
        sql, args = plan.sql_and_args(parameters)
        if not self._begun and not plan.alone:
            self.conn.execute("BEGIN")
            self._begun = True
        rows = self.conn.execute(sql, args).fetchall()
        if plan.results:
            converted = []
            for row in rows:
                values = list(row)
                for i, proc in plan.results:
                    values[i] = proc(values[i])
                converted.append(tuple(values))
            rows = converted
        return InlineResult(plan.keys, rows)

    def end(self) -> None:
        if self._begun:
            self.conn.execute("ROLLBACK")
            self._begun = False


def connect(path: str) -> sqlite3.Connection:
    """A connection for inline reads (autocommit; transactions are explicit)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA foreign_keys=ON")
    # A WAL reader waits for no lock except in rare recovery steps; bound that stall
    # of the event loop.
    conn.execute("PRAGMA busy_timeout=5000")
    return conn
