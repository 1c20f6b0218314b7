"""The `pgs3v aws` config file: what `configure` read about the cluster and what `deploy` made.

One JSON file, mode 0600 (it names the cluster and the account's resources, never a password),
at ``--config PATH``, else ``$PGS3V_AWS_CONFIG``, else ``~/.config/pgs3v/aws.json``. Each step
reads it and writes back what it learned, so every later step works from the same facts.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from pgs3v.aws import template
from pgs3v.durable_files import write_file_atomically

CONFIG_VARIABLE = "PGS3V_AWS_CONFIG"
DEFAULT_STACK_NAME = "pgs3v"
DEFAULT_NAME_PREFIX = template.DEFAULT_NAME_PREFIX
DEFAULT_VECTOR_BUCKET = "pgs3v-catalog"
DEFAULT_INDEX = "products"


class ConfigError(RuntimeError):
    """The config file is missing or unreadable; the message says what to run."""


@dataclass
class AwsConfig:
    """Everything the steps after `configure` need, as kept in the config file."""

    cluster_id: str
    region: str
    cluster_endpoint: str = ""
    cluster_port: int = 5432
    cluster_arn: str = ""
    engine: str = ""
    vpc_id: str = ""
    subnet_ids: list[str] = field(default_factory=list)
    security_group_ids: list[str] = field(default_factory=list)
    stack_name: str = DEFAULT_STACK_NAME
    name_prefix: str = DEFAULT_NAME_PREFIX
    code_bucket: str = ""
    code_bucket_created: bool = False  # deploy made it, so cleanup removes it
    code_key: str = ""
    vector_bucket: str = DEFAULT_VECTOR_BUCKET
    index_name: str = DEFAULT_INDEX
    sample_tables: bool = False  # load-sample made schema shop on the cluster
    endpoint_url: str | None = None  # an AWS endpoint override (moto in the tests)
    s3vectors_endpoint: str | None = None  # where S3 Vectors is, when not AWS's (the pgs3v store)
    store_endpoint: str = ""  # the functions' PGS3V_STORE_ENDPOINT ("" = Amazon S3 Vectors)
    outputs: dict[str, str] = field(default_factory=dict)  # the stack's outputs after deploy

    def function_names(self) -> dict[str, str]:
        """The deployed functions by role (query, write, manage): from the outputs, else the names the prefix gives."""
        defaults = dict(zip(("query", "write", "manage"), template.function_names(self.name_prefix), strict=True))
        outputs = {"query": template.QUERY_FUNCTION_NAME, "write": template.WRITE_FUNCTION_NAME,
                   "manage": template.MANAGE_FUNCTION_NAME}
        return {role: self.outputs.get(outputs[role], defaults[role]) for role in defaults}


def config_path(path: Path | None = None) -> Path:
    """The config file to use: the one given, else $PGS3V_AWS_CONFIG, else ~/.config/pgs3v/aws.json."""
    if path is not None:
        return path
    if os.environ.get(CONFIG_VARIABLE):
        return Path(os.environ[CONFIG_VARIABLE])
    return Path.home() / ".config" / "pgs3v" / "aws.json"


def load_config(path: Path) -> AwsConfig:
    """The config kept at ``path``; a ConfigError saying to run `pgs3v aws configure` when there is none."""
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no config at {path}: run `pgs3v aws configure --cluster-id ID` first") from None
    except (OSError, ValueError) as problem:
        raise ConfigError(f"cannot read {path}: {problem}; fix it or run `pgs3v aws configure` again") from None
    known = {item.name for item in fields(AwsConfig)}
    if not isinstance(raw, dict) or "cluster_id" not in raw or "region" not in raw:
        raise ConfigError(f"{path} is not a pgs3v aws config: run `pgs3v aws configure` again")
    return AwsConfig(**{key: value for key, value in raw.items() if key in known})


def save_config(config: AwsConfig, path: Path) -> None:
    """Write the config to ``path`` atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomically(path, (json.dumps(asdict(config), indent=2, sort_keys=True) + "\n").encode())  # 0600
