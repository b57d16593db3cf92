"""`kontingent`: the command line for people. Each command is a thin wrapper over a stage's
public function; the DAGs and the tests call the same functions."""

from __future__ import annotations

import os
import sys
from datetime import date as date_type
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
superset_app = typer.Typer(
    help="Dashboards: Superset and the development sign-in provider («ЕСИА»).",
    no_args_is_help=True,
)
app.add_typer(superset_app, name="superset")
airflow_app = typer.Typer(
    help="Airflow on the project's PostgreSQL: the web UI and a run of kontingent_daily.",
    no_args_is_help=True,
)
app.add_typer(airflow_app, name="airflow")


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


# -- dashboards -----------------------------------------------------------------------------
@superset_app.command("up")
def superset_up() -> None:
    """Initialize Superset's metadata once, then start the sign-in provider and Superset."""
    from kontingent import dashboards

    try:
        for line in dashboards.up(dashboards.configure()):
            typer.echo(line)
    except dashboards.DashboardsError as exc:
        _fail(str(exc))


@superset_app.command("down")
def superset_down() -> None:
    """Stop Superset and the sign-in provider started by `kontingent superset up`."""
    from kontingent import dashboards

    for line in dashboards.down(dashboards.configure()):
        typer.echo(line)


@superset_app.command("status")
def superset_status() -> None:
    """Say whether Superset and the sign-in provider answer, and where their logs are."""
    from kontingent import dashboards

    running, lines = dashboards.status(dashboards.configure())
    for line in lines:
        typer.echo(line)
    raise typer.Exit(0 if running else 3)


@superset_app.command("provision")
def superset_provision() -> None:
    """Create the roles and import the YAML assets of superset/assets (idempotent)."""
    from kontingent import dashboards

    try:
        for line in dashboards.provision(dashboards.configure()):
            typer.echo(line)
    except dashboards.DashboardsError as exc:
        _fail(str(exc))


@superset_app.command("break-glass")
def superset_break_glass() -> None:
    """Create or reset the one administrator who may sign in with a password, at /break-glass/
    (for when the sign-in provider is down); prints the new password once."""
    from kontingent import dashboards

    d = dashboards.configure()
    try:
        user, password = dashboards.break_glass(d)
    except dashboards.DashboardsError as exc:
        _fail(str(exc))
    typer.echo(f"break-glass administrator: {d.superset_url}/break-glass/")
    typer.echo(f"  user {user}  password {password}")
    typer.echo("  (shown once; every use is logged; run again to set a new password)")


# -- orchestration --------------------------------------------------------------------------
def _airflow(command: str) -> None:
    from orchestration import local

    raise typer.Exit(local.main([command]))


@airflow_app.command("up")
def airflow_up() -> None:
    """Start Airflow in the background (api-server, scheduler, DAG processor, triggerer)."""
    _airflow("up")


@airflow_app.command("run")
def airflow_run() -> None:
    """Run kontingent_daily once over the landing folder and print its summary."""
    _airflow("run")


@airflow_app.command("down")
def airflow_down() -> None:
    """Stop the Airflow started by `kontingent airflow up`."""
    _airflow("down")


@airflow_app.command("status")
def airflow_status() -> None:
    """Say whether Airflow answers, and where its log is."""
    _airflow("status")


@airflow_app.command("password")
def airflow_password() -> None:
    """The generated password of the Airflow user `admin`."""
    _airflow("password")


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


# -- data-quality checks and publication ----------------------------------------------------
EXIT_BLOCKING_CHECK = 1


def _report_checks(run) -> None:
    for r in run.failed_blocking + run.failed_warning:
        colour = typer.colors.RED if r.severity == "blocking" else typer.colors.YELLOW
        detail = r.error or (f"observed {r.observed_value}" if r.observed_value else "")
        if r.unexpected_count is not None:
            detail = f"{r.unexpected_count} unexpected" + (f"; {detail}" if detail else "")
        typer.secho(f"{r.severity:8} {r.check_name}  {detail}", fg=colour)
    typer.echo(
        f"{run.layer} ({', '.join(run.audited_schemas)}): {len(run.results)} checks, "
        f"{len(run.failed_blocking)} blocking failed, {len(run.failed_warning)} warnings; "
        f"run {run.run_id}" + (f"; Data Docs: {run.data_docs_path}" if run.data_docs_path else "")
    )


@app.command("check")
def check(
    layer: str = typer.Argument(..., help="raw (the loaded feeds) or marts (the published layer)."),
    build: bool = typer.Option(
        False, "--build", help="marts: audit the build schemas (marts_next, forms_next)."
    ),
    publish: bool = typer.Option(
        False, "--publish", help="marts: audit the build schemas and publish them if they pass."
    ),
) -> None:
    """Run the Great Expectations checks of a layer; results go to the dq schema and Data Docs.

    Exit 1 when a blocking check fails (warnings never fail the command).
    """
    from quality.publish import PublishRefused
    from quality.publish import publish as publish_build
    from quality.run import run_check

    if layer not in ("raw", "marts"):
        _fail(f"unknown layer {layer!r}: choose raw or marts", 2)
    if (build or publish) and layer != "marts":
        _fail("--build and --publish apply to the marts layer only", 2)
    run = run_check(layer, build=build or publish)
    _report_checks(run)
    if not run.is_success:
        raise typer.Exit(EXIT_BLOCKING_CHECK)
    if publish:
        try:
            typer.echo("published: " + ", ".join(publish_build(run=run)))
        except PublishRefused as exc:
            _fail(str(exc))


@app.command("publish")
def publish_layer() -> None:
    """Write-audit-publish: dbt builds the published layer into marts_next/forms_next, the
    marts checks audit it, and only a build without blocking failures replaces what dashboards
    read (one transaction). Exit 1 when nothing was published."""
    from quality.publish import build_audit_publish

    outcome = build_audit_publish()
    if outcome.run is not None:
        _report_checks(outcome.run)
    if not outcome.published:
        _fail(outcome.message)
    typer.echo(outcome.message)


# -- sample region --------------------------------------------------------------------------
@app.command("generate")
def generate(
    students: int = typer.Option(10_000, help="Number of school students in the region."),
    years: int = typer.Option(2, help="School years: the current one and the ones before it."),
    seed: int = typer.Option(20250901, help="Random seed; the same seed gives the same files."),
    out: Path = typer.Option(Path(".local/landing"), help="Folder for the extract files."),
    dirty: float = typer.Option(0.0, help="Share of rows with injected real-world defects."),
    marks_per_year: int = typer.Option(300, help="Current marks per student per school year."),
    until: str = typer.Option(
        "", help="Last extract date, YYYY-MM-DD (default 2026-11-27, fixed for repeatability)."
    ),
) -> None:
    """Generate a sample region: extract files in the feed contract and a ground-truth manifest."""
    from datetime import date

    from sample_region import generate_region

    try:
        last = date.fromisoformat(until) if until else None
    except ValueError:
        _fail(f"--until must be a date YYYY-MM-DD, not {until!r}", 2)
    manifest = generate_region(
        students=students,
        years=years,
        seed=seed,
        out=out,
        dirty=dirty,
        marks_per_year=marks_per_year,
        until=last,
    )
    typer.echo(f"sample region written to {out} (manifest: {manifest})")


# -- ingestion ------------------------------------------------------------------------------
pii_app = typer.Typer(help="The restricted personal-data zone.", no_args_is_help=True)
app.add_typer(pii_app, name="pii")

EXIT_FILE_REFUSED = 1
EXIT_LOADER_BUSY = 3
EXIT_NO_KEY = 4
EXIT_DATABASE_ERROR = 5


def _database_error_message(exc: Exception) -> str:
    """A database failure in words: its code and primary message only (a DETAIL line may
    quote field values, which are personal data in some feeds)."""
    diag = getattr(exc, "diag", None)
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    primary = (diag.message_primary if diag else None) or lines[0]
    code = getattr(exc, "sqlstate", None)
    return f"{primary} (SQLSTATE {code})" if code else primary


@app.command("load")
def load(
    landing_dir: Path | None = typer.Argument(
        None, help="Landing folder (default: KONTINGENT_LANDING or .local/landing)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON, no progress."),
) -> None:
    """Load every new extract file of the landing folder into the warehouse.

    Exit 0 when every file loaded or was already loaded (rejected rows included), 1 when a file
    was refused whole (moved to failed/), 3 when another loader holds the folder, 4 without
    the pseudonymization key, 5 when the database failed mid-load (disk full, connection lost):
    the file being loaded was rolled back whole and stays in the landing folder.
    """
    import psycopg

    from ingestion import report
    from ingestion.loader import LoaderBusy, load_landing
    from ingestion.pseudonym import PseudonymKeyMissing

    try:
        if as_json:
            results = load_landing(landing_dir)
        else:
            with report.RichProgress() as progress:
                results = load_landing(landing_dir, progress=progress)
    except PseudonymKeyMissing as exc:
        _fail(str(exc), EXIT_NO_KEY)
    except LoaderBusy as exc:
        _fail(str(exc), EXIT_LOADER_BUSY)
    except FileNotFoundError as exc:
        _fail(str(exc), 2)
    except psycopg.Error as exc:
        _fail(
            f"the load stopped: the database failed: {_database_error_message(exc)}. "
            "Files loaded before it are kept; the file being loaded was rolled back whole and "
            "stays in the landing folder. Fix the cause and run `kontingent load` again.",
            EXIT_DATABASE_ERROR,
        )
    if as_json:
        typer.echo(report.results_json(results))
    else:
        from rich.console import Console

        Console().print(report.summary_table(results))
    if any(r.status == "failed" for r in results):
        raise typer.Exit(EXIT_FILE_REFUSED)


@app.command("replay")
def replay(
    feed: str | None = typer.Option(None, help="Only this feed, e.g. marks."),
    load_id: int | None = typer.Option(None, help="Only the quarantine of this load."),
) -> None:
    """Check quarantined rows again with the current contract and load those that now pass."""
    from ingestion.pseudonym import PseudonymKeyMissing
    from ingestion.quarantine import replay as run_replay

    try:
        results = run_replay(feed=feed, load_id=load_id)
    except PseudonymKeyMissing as exc:
        _fail(str(exc), EXIT_NO_KEY)
    if not results:
        typer.echo("nothing to replay")
    for r in results:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(r.reasons.items()))
        typer.echo(
            f"{r.file} (load {r.source_load_id}): retried {r.retried}, loaded {r.loaded}, "
            f"still rejected {r.still_rejected}" + (f" ({reasons})" if reasons else "")
        )


@pii_app.command("erase")
def pii_erase(
    student_id: str | None = typer.Option(None, help="Source ID of a student."),
    account_id: str | None = typer.Option(None, help="Source ID of a portal account."),
    esia_oid: str | None = typer.Option(None, help="ESIA OID: every account of the person."),
) -> None:
    """Remove one person's identifying data everywhere; pseudonymous facts stay."""
    from ingestion.erase import erase_person
    from ingestion.pseudonym import PseudonymKeyMissing

    try:
        res = erase_person(student_id=student_id, account_id=account_id, esia_oid=esia_oid)
    except ValueError as exc:
        _fail(str(exc), 2)
    except PseudonymKeyMissing as exc:
        _fail(str(exc), EXIT_NO_KEY)
    typer.echo(
        f"erased {res.subject_kind} {res.subject_key}: {res.pii_rows} personal-data rows, "
        f"{res.quarantine_lines} quarantined lines"
    )


access_app = typer.Typer(
    help="The access list: who holds «Аналитик министерства» (whole region), by ESIA OID.",
    no_args_is_help=True,
)
app.add_typer(access_app, name="access")


@access_app.command("grant")
def access_grant(
    esia_oid: str = typer.Argument(..., help="The person's ESIA OID."),
    by: str = typer.Option(..., "--by", help="Who grants it (a system administrator)."),
    reason: str | None = typer.Option(None, help="Why: an order, a ticket."),
) -> None:
    """Grant the region analyst's role to a person."""
    from kontingent import access

    try:
        changed = access.grant(esia_oid, by, reason)
    except access.AccessError as exc:
        _fail(str(exc), 2)
    typer.echo(f"{esia_oid}: " + ("granted" if changed else "already granted"))


@access_app.command("revoke")
def access_revoke(
    esia_oid: str = typer.Argument(..., help="The person's ESIA OID."),
    by: str = typer.Option(..., "--by", help="Who revokes it."),
) -> None:
    """Revoke it (takes effect at the person's next sign-in; the row stays as history)."""
    from kontingent import access

    try:
        changed = access.revoke(esia_oid, by)
    except access.AccessError as exc:
        _fail(str(exc), 2)
    typer.echo(f"{esia_oid}: " + ("revoked" if changed else "held no grant"))


@access_app.command("list")
def access_list(
    all_: bool = typer.Option(False, "--all", help="Revoked grants too."),
) -> None:
    """The grants in force (with --all, the revoked ones as well)."""
    from kontingent import access

    for g in access.grants(include_revoked=all_):
        state = f"revoked {g.revoked_at:%Y-%m-%d} by {g.revoked_by}" if g.revoked_at else "active"
        typer.echo(
            f"{g.esia_oid:<16} granted {g.granted_at:%Y-%m-%d} by {g.granted_by}"
            + (f" ({g.reason})" if g.reason else "")
            + f"; {state}"
        )


# -- official statistical forms -----------------------------------------------------------
forms_app = typer.Typer(
    help="Official statistical forms (ОО-1, 1-ДОП, results, ESIA): build, release, download.",
    no_args_is_help=True,
)
app.add_typer(forms_app, name="forms")

EXIT_CONTROL_VIOLATED = 3

_FORM_HELP = "Form: oo1, 1dop, results or esia."
_DATE_HELP = "Report date YYYY-MM-DD (ОО-1: the latest 20 September on or before it)."
_LEVEL_HELP = "region, municipality or organization."


def _form_date(value: str) -> date_type:
    try:
        return date_type.fromisoformat(value)
    except ValueError:
        _fail(f"--date must be YYYY-MM-DD, not {value!r}", 2)
        raise


def _build_form_or_exit(
    form: str,
    date: str,
    level: str,
    code: str | None,
    period: str | None,
    edition: int | None,
    definition: Path | None,
    branches_separately: bool,
    suppress_health: bool,
):
    import forms

    try:
        loaded = forms.load_definition(definition) if definition else None
        return forms.build_form(
            form,
            _form_date(date),
            level,
            code,
            period=period,
            edition=edition,
            definition=loaded,
            branches_separately=branches_separately,
            suppress_health=suppress_health,
        )
    except (forms.FormError, forms.DefinitionError) as exc:
        _fail(str(exc), 2)


def _report_violations(built) -> None:
    for v in built.violations:
        typer.secho(
            f"control {v.control_id} violated ({v.text}) {v.instance}: {v.expression} "
            f"[{v.cell_names}]",
            err=True,
            fg=typer.colors.RED,
        )


@forms_app.command("list")
def forms_list() -> None:
    """The forms and their editions (definition files)."""
    import forms

    for form, editions in forms.available().items():
        typer.echo(f"{form}: editions {', '.join(map(str, editions))}")


@forms_app.command("build")
def forms_build(
    form: str = typer.Option(..., help=_FORM_HELP),
    date: str = typer.Option(..., help=_DATE_HELP),
    level: str = typer.Option("region", help=_LEVEL_HELP),
    code: str | None = typer.Option(None, help="Organization ID or municipality (5 digits)."),
    out: Path | None = typer.Option(None, help="File .xlsx or .csv (default: the drafts)."),
    period: str | None = typer.Option(None, help="Results report: period, e.g. «1 четверть»."),
    edition: int | None = typer.Option(None, help="Definition edition (default: by date)."),
    definition: Path | None = typer.Option(None, help="A definition file to use instead."),
    branches_separately: bool = typer.Option(False, help="Branches as units of their own."),
    suppress_health: bool = typer.Option(
        True, help="Withhold health cells under 5 (off only for the ministry or own department)."
    ),
) -> None:
    """Build a draft form; exit 3 naming each violated control ratio."""
    import forms

    built = _build_form_or_exit(
        form, date, level, code, period, edition, definition, branches_separately, suppress_health
    )
    target = out or forms.draft_path(built)
    try:
        forms.write(built, target)
    except ValueError as exc:
        _fail(str(exc), 2)
    typer.echo(
        f"{built.definition.code} {built.territory_slug} {built.report_date}: {target} "
        f"(data cut-off {built.cutoff}, {len(built.controls)} control checks)"
    )
    if built.violations:
        _report_violations(built)
        raise typer.Exit(EXIT_CONTROL_VIOLATED)


@forms_app.command("release")
def forms_release(
    form: str = typer.Option(..., help=_FORM_HELP),
    date: str = typer.Option(..., help=_DATE_HELP),
    level: str = typer.Option("region", help=_LEVEL_HELP),
    code: str | None = typer.Option(None, help="Organization ID or municipality (5 digits)."),
    period: str | None = typer.Option(None, help="Results report: period, e.g. «1 четверть»."),
    edition: int | None = typer.Option(None, help="Definition edition (default: by date)."),
    branches_separately: bool = typer.Option(False, help="Branches as units of their own."),
) -> None:
    """Freeze a form in the archive (only when every control ratio holds; never overwritten)."""
    import forms

    built = _build_form_or_exit(
        form, date, level, code, period, edition, None, branches_separately, False
    )
    if built.violations:
        _report_violations(built)
        _fail("not released: control ratios violated", EXIT_CONTROL_VIOLATED)
    entry, new = forms.release(built)
    state = "released" if new else "unchanged, already released"
    typer.echo(f"{state}: {entry.path} (version {entry.version}, sha256 {entry.sha256})")


@forms_app.command("download")
def forms_download(
    form: str = typer.Option(..., help=_FORM_HELP),
    date: str = typer.Option(..., help="The released form's report date."),
    level: str = typer.Option("region", help=_LEVEL_HELP),
    code: str | None = typer.Option(None, help="Organization ID or municipality (5 digits)."),
    version: int | None = typer.Option(None, help="Release version (default: the newest)."),
    out: Path = typer.Option(..., help="Where to copy the released file."),
) -> None:
    """Copy a released form, byte for byte, after checking its sha256."""
    import shutil

    import forms
    from forms.archive import territory_slug

    try:
        entry = forms.download(form, date, territory_slug(level, code), version)
    except forms.ReleaseError as exc:
        _fail(str(exc), 2)
    shutil.copyfile(entry.path, out)
    typer.echo(f"{out} (version {entry.version}, sha256 {entry.sha256})")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
