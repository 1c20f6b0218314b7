"""Install, upgrade and remove pgs3v's SQL in a database: the aws_lambda layer and schema s3vectors.

Where AWS's ``aws_lambda`` extension is available (Aurora, RDS) it is used; elsewhere pgs3v's shim
(``aws_lambda_shim--*.sql``, PL/Python) is installed and pointed at a function host. Then the
``pgs3v--*.sql`` scripts bring schema ``s3vectors`` to the newest version. Every step checks what
is there first, so installing again is harmless and installing a newer pgs3v upgrades in place.
Each script is one transaction; a session advisory lock keeps two installers from interleaving.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors, sql

from pgs3v.sql_schema.scripts import SCHEMA_SCRIPTS, SHIM_SCRIPTS, ScriptError, ScriptSet, sql_directory

DEFAULT_FUNCTION_NAME = "pgs3v-bridge"
DEFAULT_REGION = "us-east-1"
# Bounds connecting to the function host and each wait for its answer.
DEFAULT_TIMEOUT_SECONDS = 30.0
# Dropped in this order: a role before the roles it is a member of.
ROLES = ("pgs3v_admin", "pgs3v_writer", "pgs3v_reader", "pgs3v_owner", "pgs3v_shim_owner")
# pg_advisory_lock key shared by install and uninstall ("pgs3" in ASCII).
_LOCK_KEY = 0x70677333


class SchemaError(RuntimeError):
    """Installing or removing the schema failed; the message says why and what to do."""


@dataclass(frozen=True)
class InstallReport:
    """What install_schema found and did."""

    lambda_provider: str  # "aws_lambda extension" or "aws_lambda_shim <version>"
    schema_version: str
    scripts_run: list[str]
    shim_configured: bool
    pgvector: bool


@dataclass(frozen=True)
class UninstallReport:
    """What uninstall_schema removed, and the roles it kept because something still uses them."""

    removed: list[str] = field(default_factory=list)
    kept_roles: dict[str, str] = field(default_factory=dict)


def install_schema(
    conninfo: str,
    *,
    function_endpoint: str | None = None,
    region: str = DEFAULT_REGION,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    function_name: str | None = None,
    query_function_name: str | None = None,
    write_function_name: str | None = None,
    scripts_directory: Path | None = None,
    ca_certificates: str | None = None,
) -> InstallReport:
    """Install or upgrade pgs3v in the database; configure the shim when an endpoint is given.

    ``function_endpoint``, ``region``, the keys and ``timeout_seconds`` configure the local shim
    (where requests go and how they are signed); without an endpoint its configuration is left as
    it is. ``function_name`` (a name or ARN) names the bridge function in ``s3vectors.settings``;
    ``query_function_name`` takes QueryVectors, GetVectors and ListVectors from it, and
    ``write_function_name`` PutVectors and DeleteVectors (as on AWS, where each has its own role).
    None leaves a setting as it is. ``ca_certificates`` (PEM text) are the CAs the shim trusts for
    an https endpoint, configured with it (None: the system's).
    Connect as a superuser locally, as the master user on Aurora.
    """
    if (access_key_id is None) != (secret_access_key is None):
        raise SchemaError("give both the access key id and the secret access key, or neither")
    if ca_certificates is not None and function_endpoint is None:
        raise SchemaError("CA certificates are for the shim's https endpoint: give --function-endpoint too")
    directory = scripts_directory or sql_directory()
    ran: list[str] = []
    with _session(conninfo) as conn:
        if _extension_available(conn, "aws_lambda"):
            if function_endpoint is not None:
                raise SchemaError(
                    "this server has AWS's aws_lambda extension, which calls real Lambda functions: "
                    "leave out --function-endpoint and name the deployed bridge with --function-name"
                )
            conn.execute("CREATE EXTENSION IF NOT EXISTS aws_lambda CASCADE")
            provider = "aws_lambda extension"
        else:
            shim = ScriptSet(SHIM_SCRIPTS, directory)
            ran += _run_scripts(conn, _plan(shim, _shim_version(conn)))
            provider = f"aws_lambda_shim {_shim_version(conn)}"
            if function_endpoint is not None:
                settings: tuple[object, ...] = (function_endpoint, region, access_key_id, secret_access_key,
                                                 timeout_seconds)
                # Five arguments without CAs: every shim version takes those (1.2 added the sixth).
                if ca_certificates is not None:
                    settings += (ca_certificates,)
                _run(conn, "configuring the aws_lambda shim",
                     f"SELECT aws_lambda_shim.configure({', '.join(['%s'] * len(settings))})", settings)
        schema = ScriptSet(SCHEMA_SCRIPTS, directory)
        ran += _run_scripts(conn, _plan(schema, _schema_version(conn)))
        routes = {"function_name": function_name, "query_function_name": query_function_name,
                  "write_function_name": write_function_name}
        for column, name in routes.items():
            if name is not None:
                _run(conn, f"setting {column}",
                     sql.SQL("UPDATE s3vectors.settings SET {} = %s").format(sql.Identifier(column)), (name,))
        # pgvector may have been installed since the schema was: add its overloads now.
        pgvector = bool(_scalar(conn, "SELECT s3vectors.enable_pgvector()"))
        version = _schema_version(conn)
        configured = provider.startswith("aws_lambda extension") or bool(
            _scalar(conn, "SELECT count(*) FROM aws_lambda_shim.configuration()")
        )
    assert version is not None, "the scripts ran but s3vectors.schema_version() is missing"
    return InstallReport(provider, version, ran, configured, pgvector)


def uninstall_schema(conninfo: str) -> UninstallReport:
    """Remove pgs3v from the database: schemas, functions, types, settings, and its roles when unused.

    The roles are cluster-wide: one still used elsewhere (pgs3v installed in another database,
    privileges granted to it on other objects) is kept, with the reason. The aws_lambda extension
    itself is left in place; only pgs3v's grants on it are revoked.
    """
    report = UninstallReport()
    with _session(conninfo) as conn:
        shim = _scalar(conn, "SELECT to_regnamespace('aws_lambda_shim') IS NOT NULL")
        owner_exists = _scalar(conn, "SELECT count(*) FROM pg_roles WHERE rolname = 'pgs3v_owner'")
        with conn.transaction():
            conn.execute("DROP SCHEMA IF EXISTS s3vectors CASCADE")
            report.removed.append("schema s3vectors")
            if shim:
                conn.execute("DROP SCHEMA IF EXISTS aws_lambda, aws_commons, aws_lambda_shim CASCADE")
                report.removed.append("aws_lambda shim (schemas aws_lambda, aws_commons, aws_lambda_shim)")
            elif owner_exists and _scalar(conn, "SELECT to_regnamespace('aws_lambda') IS NOT NULL"):
                conn.execute("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA aws_lambda FROM pgs3v_owner")
                conn.execute("REVOKE ALL ON SCHEMA aws_lambda FROM pgs3v_owner")
                if _scalar(conn, "SELECT to_regnamespace('aws_commons') IS NOT NULL"):
                    conn.execute("REVOKE ALL ON SCHEMA aws_commons FROM pgs3v_owner")
        if shim:
            try:
                # RESTRICT: kept when any other function is written in PL/Python.
                conn.execute("DROP EXTENSION IF EXISTS plpython3u")
                report.removed.append("extension plpython3u")
            except errors.DependentObjectsStillExist:
                pass
        for role in ROLES:
            try:
                result = conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
                if result and result[0]:
                    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
                    report.removed.append(f"role {role}")
            except errors.DependentObjectsStillExist as problem:
                report.kept_roles[role] = (problem.diag.message_detail or str(problem)).replace("\n", "; ")
    return report


def shim_endpoint(conn: psycopg.Connection[Any]) -> str | None:
    """The endpoint the database's aws_lambda shim calls, or None (no shim, or not configured)."""
    if not _scalar(conn, "SELECT to_regprocedure('aws_lambda_shim.configuration()') IS NOT NULL"):
        return None
    endpoint = _scalar(conn, "SELECT endpoint_url FROM aws_lambda_shim.configuration()")
    return None if endpoint is None else str(endpoint)


def installed_version(conninfo: str) -> str | None:
    """The version of schema s3vectors in the database, or None when it is not installed."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return _schema_version(conn)


@contextmanager
def _session(conninfo: str) -> Iterator[psycopg.Connection[Any]]:
    try:
        conn = psycopg.connect(conninfo, autocommit=True)
    except psycopg.Error as problem:
        raise SchemaError(f"cannot connect to PostgreSQL: {problem}".strip()) from None
    with conn:
        # Released when the connection closes, whatever state a failed script left it in.
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        yield conn


def _plan(scripts: ScriptSet, installed: str | None) -> list[Path]:
    try:
        return scripts.plan(installed)
    except ScriptError as problem:
        raise SchemaError(str(problem)) from None


def _run_scripts(conn: psycopg.Connection[Any], scripts: list[Path]) -> list[str]:
    for script in scripts:
        try:
            # No parameters: psycopg sends the file as is, in one simple query (the scripts hold
            # their own BEGIN/COMMIT, and their % signs are not placeholders).
            conn.execute(script.read_text(encoding="utf-8"))
        except psycopg.Error as problem:
            raise SchemaError(f"{script.name} failed: {_describe(problem)}") from None
    return [script.name for script in scripts]


def _run(conn: psycopg.Connection[Any], what: str, query: str | sql.Composed, params: tuple[object, ...]) -> None:
    try:
        conn.execute(query, params)
    except psycopg.Error as problem:
        raise SchemaError(f"{what} failed: {_describe(problem)}") from None


def _describe(problem: psycopg.Error) -> str:
    diag = problem.diag
    parts = [diag.message_primary or str(problem)]
    parts += [f"{label}: {text}" for label, text in (("DETAIL", diag.message_detail), ("HINT", diag.message_hint))
              if text]
    return "\n".join(parts)


def _scalar(conn: psycopg.Connection[Any], query: str) -> object:
    row = conn.execute(query).fetchone()
    return row[0] if row else None


def _extension_available(conn: psycopg.Connection[Any], name: str) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = %s", (name,)).fetchone()
    return bool(row and row[0])


def _schema_version(conn: psycopg.Connection[Any]) -> str | None:
    if not _scalar(conn, "SELECT to_regprocedure('s3vectors.schema_version()') IS NOT NULL"):
        return None
    return str(_scalar(conn, "SELECT s3vectors.schema_version()"))


def _shim_version(conn: psycopg.Connection[Any]) -> str | None:
    if not _scalar(conn, "SELECT to_regprocedure('aws_lambda_shim.shim_version()') IS NOT NULL"):
        return None
    return str(_scalar(conn, "SELECT aws_lambda_shim.shim_version()"))


__all__ = [
    "DEFAULT_FUNCTION_NAME",
    "DEFAULT_TIMEOUT_SECONDS",
    "InstallReport",
    "SchemaError",
    "UninstallReport",
    "install_schema",
    "installed_version",
    "shim_endpoint",
    "uninstall_schema",
]
