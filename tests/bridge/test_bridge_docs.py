"""docs/bridge.md, --help and the settings table say the same thing."""

from __future__ import annotations

from pathlib import Path

import boto3
import click
from click.testing import CliRunner

from pgs3v.bridge.cli import register
from pgs3v.bridge.settings import SETTINGS, load_settings

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "bridge.md"


def test_every_setting_is_documented_with_its_default() -> None:
    text = DOC.read_text()
    for name, default, _ in SETTINGS:
        assert f"| `{name}` | {default or 'unset'} |" in text, name


def test_every_operation_is_named_in_the_docs() -> None:
    text = DOC.read_text()
    model = boto3.session.Session().client("s3vectors", region_name="us-east-1").meta.service_model
    for operation in model.operation_names:
        assert f"`{operation}`" in text, operation


def test_functions_serve_is_registered_and_its_options_documented() -> None:
    @click.group()
    def main() -> None:
        """A stand-in for the pgs3v command."""

    register(main)
    runner = CliRunner()
    assert "functions" in runner.invoke(main, ["--help"]).output
    serve_help = runner.invoke(main, ["functions", "serve", "--help"]).output
    text = DOC.read_text()
    for option in ("--host", "--port", "--store-endpoint", "--data-dir", "--timeout", "--concurrency",
                   "--function", "--bridge-function", "--no-verify-signatures", "--tls-cert", "--tls-key",
                   "--tls-ca"):
        assert option in serve_help and option in text, option
    assert "PGS3V_ACCESS_KEY_ID" in serve_help
    assert "--without-boto3" in runner.invoke(main, ["functions", "package", "--help"]).output


def test_a_custom_endpoint_without_a_region_signs_for_us_east_1() -> None:
    settings = load_settings({"PGS3V_STORE_ENDPOINT": "http://127.0.0.1:8750"})
    assert settings.endpoint_url == "http://127.0.0.1:8750" and settings.region == "us-east-1"
    both = load_settings({"PGS3V_STORE_ENDPOINT": "http://a", "AWS_ENDPOINT_URL_S3VECTORS": "http://b",
                          "AWS_DEFAULT_REGION": "eu-west-1"})
    assert both.endpoint_url == "http://a" and both.region == "eu-west-1"
    assert load_settings({}).endpoint_url is None
