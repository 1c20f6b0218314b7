"""pgs3v's SQL: the aws_lambda shim and schema s3vectors, their scripts and their installer.

``install_schema`` / ``uninstall_schema`` / ``installed_version`` work on any PostgreSQL 15+
database (Aurora included); ``register`` adds ``pgs3v schema install|uninstall`` to the CLI.
"""

from __future__ import annotations

from pgs3v.sql_schema.cli import register
from pgs3v.sql_schema.installer import (
    InstallReport,
    SchemaError,
    UninstallReport,
    install_schema,
    installed_version,
    uninstall_schema,
)

__all__ = [
    "InstallReport",
    "SchemaError",
    "UninstallReport",
    "install_schema",
    "installed_version",
    "register",
    "uninstall_schema",
]
