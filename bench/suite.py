"""The benchmark suite: generator, loader, dbt build, incremental build and forms at region sizes.

    .venv/bin/python bench/suite.py [S] [M] [L]     (make bench SIZE="S M")

For each size (S = 10,000 students, M = 100,000, L = 1,000,000; two school years), in one run:

- **generate**: the sample region into `.local/bench/<size>/landing` when missing — seconds and
  peak RSS of the generator (kept beside the region, reported again on later runs);
- **load**: `kontingent load` of every file except the last extract date into a scratch
  database `kontingent_bench_<size>` — seconds, rows, rows/s, peak RSS of the loader;
- **build**: a full `kontingent dbt build`;
- **incremental**: load the last extract date's files (one day's deltas), `dbt build` again —
  seconds and share of the full build;
- **forms**: every form for the region and every municipality;
- **dashboards**: p50 and p95 of every chart's query through Superset's chart data API with
  caching off (`bench/dashboard_latency.py`; `KONTINGENT_BENCH_SKIP_DASHBOARDS=1` skips it).

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
from kontingent.settings import ROLE_OWNER, ROLE_PII, ROLE_READER, get_settings  # noqa: E402

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


def measure(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """Run `argv` under a small wrapper process so its peak RSS is its own, not the maximum over
    every earlier child of this suite."""
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
    if res["rc"] != 0:
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


def split_last_day(landing: Path, work: Path) -> tuple[Path, Path, str]:
    """Symlink every extract into `initial/` except those of the last extract date (`delta/`)."""
    files = sorted(p for p in landing.iterdir() if not p.name.startswith("_"))
    last = max(p.stem.rsplit("_", 1)[1] for p in files)
    initial, delta = work / "initial", work / "delta"
    for d in (initial, delta):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
    for p in files:
        target = delta if p.stem.endswith(last) else initial
        (target / p.name).symlink_to(p)
    return initial, delta, last


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
    initial, delta, last = split_last_day(work / "landing", work)

    admin = settings.local_url(ROLE_OWNER, "postgres")
    name = f"kontingent_bench_{size.lower()}"
    db.drop_database(admin, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
        db.secure_database(conn, name, (ROLE_READER, ROLE_PII))
    url = settings.local_url(ROLE_OWNER, name)
    with psycopg.connect(url) as conn:
        db.prepare_warehouse(conn)
    env = {
        **os.environ,
        "WAREHOUSE_URL": url,
        "WAREHOUSE_READER_URL": settings.local_url(ROLE_READER, name),
        "WAREHOUSE_PII_URL": settings.local_url(ROLE_PII, name),
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
        print(f"[{size}] forms ...", flush=True)
        result["forms"] = forms_time(env["WAREHOUSE_READER_URL"])
        if os.environ.get("KONTINGENT_BENCH_SKIP_DASHBOARDS") != "1":
            print(f"[{size}] dashboards: every chart through the chart data API ...", flush=True)
            from bench.dashboard_latency import measure as dashboard_latency

            result["dashboards"] = dashboard_latency(env["WAREHOUSE_READER_URL"], work)
    finally:
        db.drop_database(admin, name)
    return result


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
    if "build_exponent" in res:
        lines += ["", f"Full build time grows as size^{res['build_exponent']} from S to M."]
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
