"""The benchmark suite: generator, loader, dbt build, incremental build and forms at region sizes.

    .venv/bin/python bench/suite.py [S] [M] [L]     (make bench SIZE="S M")

For each size (S = 10,000 students, M = 100,000, L = 1,000,000; two school years), in one run:

- **generate**: the sample region into `.local/bench/<size>/landing` when missing — seconds and
  peak RSS of the generator (kept beside the region, reported again on later runs);
- **load**: `kontingent load` of every file except the last two extract dates into a scratch
  database `kontingent_bench_<size>` — seconds, rows, rows/s, peak RSS of the loader;
- **build**: a full `kontingent dbt build`;
- **incremental**: load the last but one extract date's files (one day's deltas), `dbt build`
  again — seconds and share of the full build;
- **checks**: the Great Expectations checks of the raw and the published layer (they also fill
  the `dq` schema the data-quality dashboard reads);
- **forms**: every form for the region and every municipality;
- **dashboards**: p50 and p95 of every chart's query through Superset's chart data API with
  caching off (`bench/dashboard_latency.py`; `KONTINGENT_BENCH_SKIP_DASHBOARDS=1` skips it);
- **end to end**: `airflow dags test kontingent_daily` over the last extract date's files (load,
  raw checks, dbt, marts checks, publication), with a throw-away Airflow metadata database.

L measures the generator and the loader only. The marks-feed ratios against plain COPY and pandas
come from `bench/load_benchmark.py`, run once at the end. Results go to
`bench/results/<timestamp>.json` and `.md`. Figures depend on the machine and its load, so they
are compared side by side within one run, never asserted in tests.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kontingent import db  # noqa: E402
from kontingent.settings import (  # noqa: E402
    ROLE_OWNER,
    ROLE_PII,
    ROLE_READER,
    ROLE_REIDENTIFY,
    get_settings,
)
from orchestration.local import isolated_env, latest_run, prepare  # noqa: E402

SIZES = {"XS": 1_000, "S": 10_000, "M": 100_000, "L": 1_000_000}  # XS: a quick smoke run
YEARS = 2
SEED = 20250901
FORM_DATES = {
    "oo1": date(2025, 9, 20),
    "1dop": date(2025, 12, 31),
    "results": date(2026, 6, 1),
    "esia": date(2026, 11, 27),
}
KONTINGENT = [sys.executable, "-m", "kontingent.cli"]


last_exit_code = [0]


def measure(
    argv: list[str], env: dict[str, str] | None = None, failure_ends_run: bool = True
) -> tuple[float, int, str]:
    """Run `argv` under a small wrapper process so its peak RSS is its own, not the maximum over
    every earlier child of this suite. A failure ends the run, unless `failure_ends_run` is
    false (a step whose failure is itself a finding): then the output is returned as usual and
    the caller reads the exit code from `last_exit_code`."""
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "s = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
        "sys.stderr.write(p.stderr)\n"
        "sys.stdout.write(json.dumps({'rc': p.returncode, 's': s, 'rss': rss, 'out': p.stdout}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, *argv],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    try:
        res = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"{' '.join(argv[2:5])} crashed:\n{proc.stderr[-3000:]}") from None
    last_exit_code[0] = res["rc"]
    if res["rc"] != 0 and not failure_ends_run:
        sys.stderr.write(f"{' '.join(argv[2:5])} failed ({res['rc']}):\n{proc.stderr[-3000:]}\n")
    elif res["rc"] != 0:
        raise SystemExit(f"{' '.join(argv[2:5])} failed ({res['rc']}):\n{proc.stderr[-3000:]}")
    return res["s"], res["rss"], res["out"]


def region(size: str, work: Path) -> dict:
    landing = work / "landing"
    stamp = work / "generate.json"
    if (landing / "_manifest.json").exists() and stamp.exists():
        return json.loads(stamp.read_text()) | {"reused": True}
    shutil.rmtree(landing, ignore_errors=True)
    print(f"[{size}] generating {SIZES[size]:,} students × {YEARS} years ...", flush=True)
    seconds, rss, _ = measure(
        [
            *KONTINGENT,
            "generate",
            "--students",
            str(SIZES[size]),
            "--years",
            str(YEARS),
            "--seed",
            str(SEED),
            "--out",
            str(landing),
        ]
    )
    files = [p for p in landing.iterdir() if not p.name.startswith("_")]
    info = {
        "seconds": round(seconds, 1),
        "peak_rss_mib": rss,
        "files": len(files),
        "mib": round(sum(p.stat().st_size for p in files) / 2**20, 1),
    }
    stamp.write_text(json.dumps(info))
    return info | {"reused": False}


def split_last_days(landing: Path, work: Path) -> tuple[Path, Path, Path, str, str]:
    """Symlink the extracts into three folders: `initial/` (every extract date but the last two),
    `delta/` (the last but one: the incremental build's day) and `e2e/` (the last: the day the
    DAG runs end to end)."""
    files = sorted(p for p in landing.iterdir() if not p.name.startswith("_"))
    dates = sorted({p.stem.rsplit("_", 1)[1] for p in files})
    delta_day, e2e_day = dates[-2], dates[-1]
    folders = {name: work / name for name in ("initial", "delta", "e2e")}
    for d in folders.values():
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    for p in files:
        day = p.stem.rsplit("_", 1)[1]
        target = "e2e" if day == e2e_day else "delta" if day == delta_day else "initial"
        (folders[target] / p.name).symlink_to(p)
    return folders["initial"], folders["delta"], folders["e2e"], delta_day, e2e_day


def load_summary(out: str) -> dict:
    files = json.loads(out)
    files = files["files"] if isinstance(files, dict) else files
    return {
        "files": len(files),
        "rows_read": sum(f.get("rows_read", 0) for f in files),
        "rows_loaded": sum(f.get("rows_loaded", 0) for f in files),
        "rows_rejected": sum(f.get("rows_rejected", 0) for f in files),
    }


def forms_time(reader_url: str) -> dict:
    import forms

    with psycopg.connect(reader_url) as conn:
        munis = [
            r[0]
            for r in conn.execute(
                "select municipality_id from marts.dim_municipality where municipality_id <> %s",
                ("-1",),
            )
        ]
    built = 0
    start = time.perf_counter()
    for form, on in FORM_DATES.items():
        forms.build_form(form, on, "region", url=reader_url)
        built += 1
        for muni in munis:
            forms.build_form(form, on, "municipality", muni, url=reader_url)
            built += 1
    return {"forms": built, "seconds": round(time.perf_counter() - start, 1)}


def bench_size(size: str) -> dict:
    settings = get_settings()
    work = ROOT / ".local" / "bench" / size
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"students": SIZES[size], "years": YEARS}
    result["generate"] = region(size, work)
    initial, delta, e2e, last, e2e_day = split_last_days(work / "landing", work)

    admin = settings.local_url(ROLE_OWNER, "postgres")
    name = f"kontingent_bench_{size.lower()}"
    url = db.scratch_database(
        settings, name, (ROLE_READER, ROLE_PII, ROLE_REIDENTIFY), warehouse=True
    )
    env = {
        **os.environ,
        "WAREHOUSE_URL": url,
        "WAREHOUSE_READER_URL": settings.local_url(ROLE_READER, name),
        "WAREHOUSE_PII_URL": settings.local_url(ROLE_PII, name),
        "WAREHOUSE_REIDENTIFY_URL": settings.local_url(ROLE_REIDENTIFY, name),
        "DBT_TARGET_PATH": str(work / "dbt-target"),
    }
    try:
        print(f"[{size}] loading ...", flush=True)
        seconds, rss, out = measure([*KONTINGENT, "load", str(initial), "--json"], env)
        load = load_summary(out)
        result["load"] = load | {
            "seconds": round(seconds, 1),
            "rows_per_second": round(load["rows_read"] / seconds),
            "peak_rss_mib": rss,
        }
        if size == "L":
            return result
        print(f"[{size}] full dbt build ...", flush=True)
        full, _, _ = measure([*KONTINGENT, "dbt", "build"], env)
        result["build"] = {"seconds": round(full, 1)}
        print(f"[{size}] one day's delta ({last}) and the incremental build ...", flush=True)
        seconds, _, out = measure([*KONTINGENT, "load", str(delta), "--json"], env)
        result["delta_load"] = load_summary(out) | {"seconds": round(seconds, 1)}
        incremental, _, _ = measure([*KONTINGENT, "dbt", "build"], env)
        result["incremental"] = {
            "seconds": round(incremental, 1),
            "share_of_full": round(incremental / full, 3),
        }
        print(f"[{size}] quality checks of the raw and published layers ...", flush=True)
        result["checks"] = {}
        for layer in ("raw", "marts"):
            seconds, _, _ = measure([*KONTINGENT, "check", layer], env, failure_ends_run=False)
            result["checks"][f"{layer}_seconds"] = round(seconds, 1)
            result["checks"][f"{layer}_passed"] = last_exit_code[0] == 0
        print(f"[{size}] forms ...", flush=True)
        result["forms"] = forms_time(env["WAREHOUSE_READER_URL"])
        if os.environ.get("KONTINGENT_BENCH_SKIP_DASHBOARDS") != "1":
            print(f"[{size}] dashboards: every chart through the chart data API ...", flush=True)
            from bench.dashboard_latency import measure as dashboard_latency

            result["dashboards"] = dashboard_latency(
                {k: v for k, v in env.items() if k.startswith("WAREHOUSE_")}, work
            )
        print(f"[{size}] end to end: kontingent_daily in Airflow for {e2e_day} ...", flush=True)
        result["end_to_end"] = end_to_end(size, work, url, e2e) | {"extract_date": e2e_day}
    finally:
        db.drop_database(admin, name)
    return result


def end_to_end(size: str, work: Path, url: str, landing: Path) -> dict:
    """`airflow dags test kontingent_daily` over one day's files (load, raw checks, dbt, marts
    checks, publication) on the benchmark warehouse, with a throw-away metadata database."""
    settings = get_settings()
    admin = settings.local_url(ROLE_OWNER, "postgres")
    name = f"kontingent_bench_airflow_{size.lower()}"
    home = work / "airflow"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    metadata = db.scratch_database(settings, name)
    env = isolated_env(home, metadata, home / "dbt" / "manifest.json")
    env.update(AIRFLOW_CONN_KONTINGENT_WAREHOUSE=url, KONTINGENT_LANDING=str(landing))
    airflow = str(Path(sys.executable).parent / "airflow")
    try:
        prepare(env)  # the dbt manifest the DAG renders from, the migrated metadata database
        seconds, rss, out = measure([airflow, "dags", "test", "kontingent_daily"], env)
        run = latest_run(url) or {}
    finally:
        db.drop_database(admin, name)
    if run.get("status") != "success":
        raise SystemExit(f"kontingent_daily did not succeed: {run.get('status')}\n{out[-3000:]}")
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mib": rss,
        "files_loaded": run.get("files_loaded"),
        "rows_loaded": run.get("rows_loaded"),
    }


def load_ratios() -> dict:
    print("[load] marks feed: loader vs plain COPY vs pandas ...", flush=True)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load_benchmark.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"load benchmark failed:\n{proc.stderr[-3000:]}")
    return {"report": proc.stdout.strip()}


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    except OSError:
        mem = 0
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_mib": mem,
        "os": platform.platform(),
        "load_average": os.getloadavg(),
    }


def targets_table(res: dict) -> list[str]:
    """Each figure that has a target, per size, next to it (the marks-feed ratios are printed
    with theirs in the load report)."""
    sizes = list(res["sizes"])

    def row(label: str, target: str, value) -> str:
        cells = []
        for size in sizes:
            try:
                cells.append(str(value(res["sizes"][size])))
            except (KeyError, TypeError):
                cells.append("–")
        return f"| {label} | {' | '.join(cells)} | {target} |"

    return [
        "| figure | " + " | ".join(sizes) + " | target |",
        "|---|" + "---|" * len(sizes) + "---|",
        row("generator peak RSS, MiB", "≤ 300, flat", lambda r: r["generate"]["peak_rss_mib"]),
        row("loader peak RSS, MiB", "≤ 300, flat", lambda r: r["load"]["peak_rss_mib"]),
        row(
            "incremental build, share of the full build",
            "< 0.05",
            lambda r: r["incremental"]["share_of_full"],
        ),
        row("chart queries p95, ms", "≤ 500", lambda r: r["dashboards"]["p95_ms"]),
        row("build time exponent S → M", "≈ 1", lambda r: res["build_exponent"]),
    ]


def markdown(res: dict) -> str:
    lines = [
        f"# Benchmark {res['started']}",
        "",
        f"Machine: {res['machine']['cpu']}, {res['machine']['cpus']} CPUs, "
        f"{res['machine']['memory_mib']:,} MiB; load average at start "
        f"{res['machine']['load_average'][0]:.1f}.",
        "",
        "| size | students | generate s | generator RSS MiB | load s | rows/s | loader RSS MiB "
        "| full build s | incremental s | incremental share | forms | forms s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, r in res["sizes"].items():
        g, lo = r["generate"], r["load"]
        b, i, f = r.get("build", {}), r.get("incremental", {}), r.get("forms", {})
        lines.append(
            f"| {size} | {r['students']:,} | {g['seconds']} | {g['peak_rss_mib']} "
            f"| {lo['seconds']} | {lo['rows_per_second']:,} | {lo['peak_rss_mib']} "
            f"| {b.get('seconds', '–')} | {i.get('seconds', '–')} "
            f"| {i.get('share_of_full', '–')} | {f.get('forms', '–')} | {f.get('seconds', '–')} |"
        )
    for size, r in res["sizes"].items():
        if "dashboards" in r:
            dash = r["dashboards"]
            lines += [
                "",
                f"Dashboards at {size}: {dash['charts']} charts, {dash['calls']} chart data calls "
                f"with caching off: p50 {dash['p50_ms']} ms, p95 {dash['p95_ms']} ms "
                f"(target p95 ≤ {dash['target_p95_ms']} ms). Slowest (median ms): "
                + ", ".join(f"{k} {v}" for k, v in dash["slowest_median_ms"].items())
                + ".",
            ]
        if "checks" in r:
            c = r["checks"]
            failed = {
                layer: "" if c.get(f"{layer}_passed", True) else " (a blocking check failed)"
                for layer in ("raw", "marts")
            }
            lines += [
                "",
                f"Quality checks at {size}: raw layer {c['raw_seconds']} s{failed['raw']}, "
                f"published layer {c['marts_seconds']} s{failed['marts']}.",
            ]
        if "end_to_end" in r:
            e = r["end_to_end"]
            lines += [
                "",
                f"End to end at {size}: `airflow dags test kontingent_daily` for one day's files "
                f"({e['extract_date']}: {e['files_loaded']} files, {e['rows_loaded']:,} rows; "
                f"load, checks, dbt, publication) {e['seconds']} s.",
            ]
    if "build_exponent" in res:
        lines += ["", f"Full build time grows as size^{res['build_exponent']} from S to M."]
    lines += ["", *targets_table(res)]
    if "load_ratios" in res:
        lines += ["", "Marks feed, one run:", "", "```", res["load_ratios"]["report"], "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    sizes = [s.upper() for s in argv] or ["S", "M"]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise SystemExit(f"unknown size {unknown}; use S, M or L")
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    res: dict = {"started": started, "machine": machine(), "sizes": {}}
    for size in sizes:
        res["sizes"][size] = bench_size(size)
    s, m = res["sizes"].get("S"), res["sizes"].get("M")
    if s and m and "build" in s and "build" in m:
        res["build_exponent"] = round(
            math.log(m["build"]["seconds"] / s["build"]["seconds"])
            / math.log(m["students"] / s["students"]),
            2,
        )
    if os.environ.get("KONTINGENT_BENCH_SKIP_RATIOS") != "1":
        res["load_ratios"] = load_ratios()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{started}.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    text = markdown(res)
    (out / f"{started}.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main(sys.argv[1:])
