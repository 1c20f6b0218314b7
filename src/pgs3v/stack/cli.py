"""``pgs3v up | down | status | doctor``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from pgs3v.data_directory import data_dir_help, resolve_data_dir
from pgs3v.terminal import output_console, pgs3v_command

DATA_DIR_HELP = data_dir_help("The stack's data directory")


def data_dir_option(function: click.decorators.FC) -> click.decorators.FC:
    """The --data-dir option every stack command takes."""
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=DATA_DIR_HELP)(function)


def register(main: click.Group) -> None:
    """Add the stack commands to the top-level group."""

    @main.command()
    @data_dir_option
    @click.option("--storage", metavar="s3://BUCKET[/PREFIX] | file:///DIR", default=None,
                  help="Keep the store's data as objects in an S3-compatible bucket (its keys: AWS_ACCESS_KEY_ID, "
                       "AWS_SECRET_ACCESS_KEY) or a local directory, chosen on the first up and kept "
                       "[default: the data directory].")
    @click.option("--s3-endpoint", metavar="URL", default=None,
                  help="With --storage: the bucket's S3 endpoint [default: Amazon S3].")
    @click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                  help="Serve the store and the function host over HTTPS with this certificate (PEM), chosen on the "
                       "first up and kept [default: plain HTTP on loopback].")
    @click.option("--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                  help="The private key (PEM) of --tls-cert.")
    @click.option("--tls-ca", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                  help="The CA (PEM) that signed --tls-cert, trusted by the bridge, the shim and doctor.")
    def up(data_dir: Path | None, storage: str | None, s3_endpoint: str | None, tls_cert: Path | None,
           tls_key: Path | None, tls_ca: Path | None) -> None:
        """Start the local stack: PostgreSQL 15, the store, the function host; install the schema.

        Everything runs from embedded defaults: a private PostgreSQL cluster (run as root, `up`
        installs its Debian packages when missing), the store and the function host on loopback.
        Reuses what is already running and what is on disk; running it twice is harmless.
        Writes DATA_DIR/connection.json (postgres_dsn, store_endpoint, function_endpoint,
        access_key_id, secret_access_key, region, ca_file), mode 0600.

        Ports are chosen on the first start and kept: 54329 (PostgreSQL), 8750 (store) and
        8760 (function host), or free ones when those are taken. PGS3V_POSTGRES_PORT,
        PGS3V_STORE_PORT and PGS3V_FUNCTIONS_PORT prefer others (0: any free port).
        With --tls-cert, --tls-key and --tls-ca both servers serve HTTPS only (docs/tls.md).
        """
        from pgs3v.stack.lifecycle import up as start_stack
        from pgs3v.tls import TlsError, server_tls

        try:
            if server_tls(tls_cert, tls_key) is not None and tls_ca is None:
                raise TlsError("--tls-cert needs --tls-ca too: the CA the bridge, the shim and doctor trust")
        except TlsError as problem:
            raise click.UsageError(str(problem)) from None
        tls = {name: str(path.resolve()) for name, path in
               (("tls_cert", tls_cert), ("tls_key", tls_key), ("tls_ca", tls_ca)) if path is not None}

        console = output_console()
        directory = resolve_data_dir(data_dir)
        try:
            start_stack(directory, console, storage, s3_endpoint, tls or None)
        except Exception as problem:
            # The same --data-dir, or doctor would look at another stack.
            doctor = f"{pgs3v_command()} doctor --data-dir {directory}"
            console.print(f"[red]pgs3v up failed:[/red] {escape(str(problem))}\n"
                          f"Run `{escape(doctor)}` for a diagnosis.", soft_wrap=True)
            sys.exit(1)

    @main.command()
    @data_dir_option
    def down(data_dir: Path | None) -> None:
        """Stop everything `pgs3v up` started; the data stays for the next `up`."""
        from pgs3v.stack.lifecycle import down as stop_stack
        from pgs3v.stack.postgres import PostgresError

        console = output_console()
        try:
            stop_stack(resolve_data_dir(data_dir), console)
        except PostgresError as problem:
            console.print(f"[red]pgs3v down failed:[/red] {escape(str(problem))}")
            sys.exit(1)

    @main.command()
    @data_dir_option
    def status(data_dir: Path | None) -> None:
        """Show which parts of the local stack run, and where.

        Exit status: 0 when everything runs, 3 when something is stopped, 1 when there is no stack.
        """
        from pgs3v.stack.lifecycle import status as stack_status

        directory = resolve_data_dir(data_dir)
        rows = stack_status(directory)
        if not rows:
            click.echo(f"No stack in {directory}. Start one with: {pgs3v_command()} up --data-dir {directory}")
            sys.exit(1)
        table = Table(title=f"pgs3v stack in {directory.resolve()}")
        for column in ("component", "state", "where", "detail"):
            table.add_column(column)
        for row in rows:
            table.add_row(row.name, "[green]running[/green]" if row.running else "[red]stopped[/red]",
                          row.where, row.detail)
        output_console().print(table)
        sys.exit(0 if all(row.running for row in rows) else 3)

    @main.command()
    @data_dir_option
    @click.option("--tls-cert", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="A server certificate (PEM) to check: its dates, and with --tls-key that the key is its own.")
    @click.option("--tls-key", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="The private key of --tls-cert.")
    @click.option("--tls-ca", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help="CA certificates (PEM) clients trust [default: $AWS_CA_BUNDLE, else the system's].")
    @click.option("--endpoint", "endpoints", multiple=True, metavar="URL",
                  help="An https server to connect to as a verifying client (repeatable), e.g. https://127.0.0.1:8750.")
    def doctor(data_dir: Path | None, tls_cert: Path | None, tls_key: Path | None, tls_ca: Path | None,
               endpoints: tuple[str, ...]) -> None:
        """Diagnose the stack and print a fix for each problem found.

        Checks the PostgreSQL 15 and PL/Python packages, that PostgreSQL, the store and the
        function host answer, that they accept the saved credentials, that schema s3vectors is
        installed, that the aws_lambda shim points at the function host with those credentials
        (and trusts its certificate when it is https), and that SQL reaches the store. With
        --tls-cert and --endpoint it checks a certificate: expired, not yet valid, for another
        host name, signed by a CA the clients do not trust, or with a key of another certificate.
        Exit status 1 when a check fails.
        """
        from pgs3v.stack.doctor import diagnose

        findings = diagnose(resolve_data_dir(data_dir), cert_file=tls_cert, key_file=tls_key, endpoints=endpoints,
                            ca_file=None if tls_ca is None else str(tls_ca))
        # soft_wrap: a fix is a command to copy, so no line breaks inside it.
        console = output_console(soft_wrap=True)
        for finding in findings:
            mark = "[green]ok[/green]  " if finding.ok else "[red]FAIL[/red]"
            # escape: details quote error messages, whose brackets are not rich markup.
            console.print(f"{mark} {escape(finding.check)}: {escape(finding.detail)}")
            if not finding.ok and finding.fix:
                console.print(f"       fix: {escape(finding.fix)}")
        failed = [f for f in findings if not f.ok]
        console.print("All checks passed." if not failed else f"{len(failed)} problem(s) found.")
        sys.exit(1 if failed else 0)
