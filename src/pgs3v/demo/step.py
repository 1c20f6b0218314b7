"""One SQL statement of the demo: its text, its parameters, and what running it gave."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import TupleRow

Connection = psycopg.Connection[TupleRow]


@dataclass(frozen=True)
class Step:
    """A statement with named parameters (psycopg's ``%(name)s``), run as is: no SQL is built from values.

    ``shown`` gives a readable stand-in for parameters too long to print (vectors);
    ``refused`` says the statement is expected to fail with that SQLSTATE; ``unsupported`` is the
    store's answer to a feature it does not have yet (a fragment of its message): the step then
    ends with a note instead of stopping the demo. ``label`` names it in the timings.
    """

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)
    shown: Mapping[str, str] = field(default_factory=dict)
    refused: str | None = None
    unsupported: str = ""
    label: str = ""


@dataclass(frozen=True)
class SqlFailure:
    """An error PostgreSQL raised."""

    sqlstate: str
    message: str


@dataclass(frozen=True)
class StepResult:
    """What a step returned, how long it took, or how it failed."""

    step: Step
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    seconds: float
    status: str
    failure: SqlFailure | None = None

    @property
    def as_expected(self) -> bool:
        """Whether it succeeded, or was refused with the expected SQLSTATE when a refusal was expected."""
        if self.unsupported:
            return True
        if self.step.refused is None:
            return self.failure is None
        return self.failure is not None and self.failure.sqlstate == self.step.refused

    @property
    def unsupported(self) -> bool:
        """Whether the store answered that it does not support the statement's feature yet."""
        return bool(self.step.unsupported and self.failure is not None
                    and self.step.unsupported in self.failure.message)

    def column(self, name: str) -> list[Any]:
        """The values of one result column."""
        position = self.columns.index(name)
        return [row[position] for row in self.rows]


def run_step(connection: Connection, step: Step) -> StepResult:
    """Run one step on an autocommit connection and time it (execution and fetching the rows).

    An error is returned, not raised, only when the step expects a refusal or it is the store's
    "not supported yet" answer the step names.
    """
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute(step.sql, step.params or None)
            rows = cursor.fetchall() if cursor.description else []
            columns = tuple(column.name for column in cursor.description or ())
            status = cursor.statusmessage or ""
    except psycopg.Error as error:
        failure = SqlFailure(error.sqlstate or "", error.diag.message_primary or str(error).strip())
        if step.refused is None and not (step.unsupported and step.unsupported in failure.message):
            raise
        return StepResult(step, (), [], time.perf_counter() - started, "ERROR", failure)
    return StepResult(step, columns, rows, time.perf_counter() - started, status)
