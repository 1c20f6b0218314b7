"""``--help`` of the stack commands says what DESIGN 2.2 and the README promise."""

from __future__ import annotations

from click.testing import CliRunner

from pgs3v.cli import main
from pgs3v.stack.local_stack import DEFAULT_PORTS, PORT_ENV


def _help(*command: str) -> str:
    result = CliRunner().invoke(main, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # words, whatever the wrapping


def test_the_top_level_help_lists_the_stack_commands() -> None:
    text = _help()
    for command in ("up", "down", "status", "doctor", "demo", "schema", "store"):
        assert f" {command} " in text, command


def test_up_help_names_what_it_starts_and_writes() -> None:
    text = _help("up")
    for part in ("PostgreSQL 15", "the store", "the function host", "install the schema", "harmless",
                 "DATA_DIR/connection.json", "0600"):
        assert part in text, part
    for key in ("postgres_dsn", "store_endpoint", "function_endpoint", "access_key_id", "secret_access_key",
                "region"):
        assert key in text, key
    for port in DEFAULT_PORTS.values():
        assert str(port) in text
    for variable in PORT_ENV.values():
        assert variable in text


def test_every_stack_command_takes_the_data_directory_with_its_default() -> None:
    for command in ("up", "down", "status", "doctor"):
        text = _help(command)
        assert "--data-dir DIRECTORY" in text and "$PGS3V_DATA_DIR or ./.pgs3v" in text, command


def test_down_status_and_doctor_say_what_they_do() -> None:
    assert "Stop everything `pgs3v up` started; the data stays" in _help("down")
    status = _help("status")
    assert "0 when everything runs" in status and "3 when something is stopped" in status
    doctor = _help("doctor")
    for topic in ("fix for each problem", "PL/Python", "credentials", "schema s3vectors", "aws_lambda shim",
                  "function host", "Exit status 1"):
        assert topic in doctor, topic
