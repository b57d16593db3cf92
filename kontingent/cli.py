"""`kontingent`: the command line for people. Each command is a thin wrapper over a stage's
public function; the DAGs and the tests call the same functions."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

app = typer.Typer(
    help="Kontingent analytics warehouse: sample region, loads, checks, forms, dashboards.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(
    help="The project's PostgreSQL cluster and connection URLs.", no_args_is_help=True
)
app.add_typer(db_app, name="db")


def _fail(message: str, code: int = 1) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


# -- database -------------------------------------------------------------------------------
@db_app.command("up")
def db_up() -> None:
    """Start the project's own PostgreSQL (install it when root), create databases and roles."""
    from kontingent import cluster

    try:
        for line in cluster.up():
            typer.echo(line)
    except cluster.ClusterError as exc:
        _fail(str(exc))


@db_app.command("down")
def db_down() -> None:
    """Stop the project's own PostgreSQL (fast shutdown)."""
    from kontingent import cluster

    try:
        typer.echo(cluster.down())
    except cluster.ClusterError as exc:
        _fail(str(exc))


@db_app.command("status")
def db_status() -> None:
    """Say whether the cluster runs, where its data lives and how to connect."""
    from kontingent import cluster

    running, lines = cluster.status()
    for line in lines:
        typer.echo(line)
    raise typer.Exit(0 if running else 3)


@db_app.command("url")
def db_url(
    role: str = typer.Option(
        "owner", help="owner (read-write), reader (dashboards) or pii (restricted)."
    ),
) -> None:
    """Print the warehouse connection URL for the current settings (for psql and other tools)."""
    from kontingent.settings import get_settings

    settings = get_settings()
    urls = {
        "owner": lambda: settings.warehouse_url,
        "reader": lambda: settings.reader_url,
        "pii": lambda: settings.pii_url,
    }
    if role not in urls:
        _fail(f"unknown role {role!r}: choose owner, reader or pii", 2)
    typer.echo(urls[role]())


@db_app.command("psql")
def db_psql(role: str = typer.Option("owner", help="owner, reader or pii.")) -> None:
    """Open a psql shell on the warehouse."""
    from kontingent.settings import get_settings

    settings = get_settings()
    url = {
        "owner": settings.warehouse_url,
        "reader": settings.reader_url,
        "pii": settings.pii_url,
    }.get(role)
    if url is None:
        _fail(f"unknown role {role!r}: choose owner, reader or pii", 2)
    os.execvp("psql", ["psql", url])  # noqa: S606 - hand the terminal to psql


@app.command("keys")
def keys_init() -> None:
    """Create the pseudonymization secret under .local/ if none is configured."""
    from kontingent.settings import ensure_pseudonym_key, get_settings

    typer.echo(f"pseudonymization key: {ensure_pseudonym_key(get_settings())}")


@app.command(
    "dbt",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def dbt(ctx: typer.Context) -> None:
    """Run dbt on the current warehouse, e.g. `kontingent dbt build`."""
    import subprocess

    from kontingent.dbt_runner import run_dbt

    try:
        run_dbt(list(ctx.args))
    except subprocess.CalledProcessError as exc:
        raise typer.Exit(exc.returncode) from None


# -- sample region --------------------------------------------------------------------------
@app.command("generate")
def generate(
    students: int = typer.Option(10_000, help="Number of school students in the region."),
    years: int = typer.Option(2, help="School years: the current one and the ones before it."),
    seed: int = typer.Option(20250901, help="Random seed; the same seed gives the same files."),
    out: Path = typer.Option(Path(".local/landing"), help="Folder for the extract files."),
    dirty: float = typer.Option(0.0, help="Share of rows with injected real-world defects."),
    marks_per_year: int = typer.Option(300, help="Current marks per student per school year."),
) -> None:
    """Generate a sample region: extract files in the feed contract and a ground-truth manifest."""
    from sample_region import generate_region

    manifest = generate_region(
        students=students,
        years=years,
        seed=seed,
        out=out,
        dirty=dirty,
        marks_per_year=marks_per_year,
    )
    typer.echo(f"sample region written to {out} (manifest: {manifest})")


# -- ingestion ------------------------------------------------------------------------------


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
