"""``pgs3v store keys create|list|delete``: the store's access keys with their identity policies."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pgs3v.auth.key_registry import KeyRegistry, KeyRegistryError
from pgs3v.auth.policies import PolicyError
from pgs3v.data_directory import data_dir_help, resolve_data_dir
from pgs3v.store.api.access import parse_identity_policy

_DATA_DIR = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                         help=data_dir_help("The store's data directory"))


def read_policy(path: Path) -> str:
    """The identity policy in ``path``, checked as IAM checks one (ClickException naming what is wrong)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as problem:
        raise click.ClickException(f"cannot read the policy {path}: {problem}") from None
    try:
        parse_identity_policy(text)
    except PolicyError as problem:
        raise click.ClickException(f"{path}: {problem}") from None
    return text


@click.group("keys")
def keys() -> None:
    """Access keys for other callers than the owner, each allowed what its identity policies allow.

    A running store sees a key created or deleted here within about a second.
    """


@keys.command("create")
@click.argument("name")
@click.option("--policy", "policies", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An IAM identity policy document (JSON) for the key (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the key as JSON.")
@_DATA_DIR
def keys_create(name: str, policies: tuple[Path, ...], as_json: bool, data_dir: Path | None) -> None:
    """Create a key for the IAM user NAME and print its secret (this once only)."""
    texts = [read_policy(path) for path in policies]
    try:
        key, credentials = KeyRegistry(resolve_data_dir(data_dir)).create(name, texts)
    except KeyRegistryError as problem:
        raise click.ClickException(str(problem)) from None
    if as_json:
        click.echo(json.dumps({"name": key.user_name, "access_key_id": credentials.access_key_id,
                               "secret_access_key": credentials.secret_access_key, "created": key.created}))
        return
    click.echo(f"export AWS_ACCESS_KEY_ID={credentials.access_key_id}")
    click.echo(f"export AWS_SECRET_ACCESS_KEY={credentials.secret_access_key}")
    click.echo(f"# key of {name}: the secret is not shown again", err=True)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON (policies included).")
@_DATA_DIR
def keys_list(as_json: bool, data_dir: Path | None) -> None:
    """List the keys (never their secrets)."""
    try:
        found = KeyRegistry(resolve_data_dir(data_dir)).list_keys()
    except KeyRegistryError as problem:
        raise click.ClickException(str(problem)) from None
    if as_json:
        click.echo(json.dumps([{"name": k.user_name, "access_key_id": k.access_key_id, "created": k.created,
                                "policies": [json.loads(p) for p in k.policies]} for k in found], indent=2))
        return
    for key in found:
        click.echo(f"{key.access_key_id}  {key.user_name}  {key.created}  {len(key.policies)} "
                   f"polic{'y' if len(key.policies) == 1 else 'ies'}")


@keys.command("delete")
@click.argument("key")
@_DATA_DIR
def keys_delete(key: str, data_dir: Path | None) -> None:
    """Delete the key with this access key id or name: it stops working within about a second."""
    try:
        removed = KeyRegistry(resolve_data_dir(data_dir)).delete(key)
    except KeyRegistryError as problem:
        raise click.ClickException(str(problem)) from None
    click.echo(f"deleted {removed.access_key_id} ({removed.user_name})")


def register(store: click.Group) -> None:
    """Add the ``keys`` command group to ``pgs3v store``."""
    store.add_command(keys)
