"""Load benchmark: the marks feed through the loader vs plain COPY vs pandas, in one run.

    .venv/bin/python bench/load_benchmark.py [--rows 3000000] [--pandas-rows 500000]

Writes a marks extract (the contract's columns, Russian header, `;`, dates ДД.ММ.ГГГГ) of
--rows rows and one of a tenth of that, into a scratch database of the project's cluster:

1. plain COPY of the large file into an unlogged table of text columns (psycopg, 1 MiB
   blocks): the limit; measured before and after the loader, the faster run counts; also into
   an ordinary (logged) text table;
2. the loader (full validation, pseudonymization, quarantine, orphan checks) on the small file
   and on the large one, each in its own process, with its peak RSS;
3. the server's share alone: the large load's rows, read back from raw.marks in binary COPY
   format (as the loader sends them), copied into raw.marks again (committed, as a load is) —
   no loader can store typed rows faster;
4. pandas read_csv + to_sql (SQLAlchemy, psycopg) on a --pandas-rows sample.

Prints rows/s, the ratios to COPY and pandas, and peak RSS of the small and large loads.
Not a test: the figures depend on the machine (and on what else runs on it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kontingent import db  # noqa: E402
from kontingent.settings import ROLE_OWNER, get_settings  # noqa: E402

HEADER = (
    "ID отметки;ID обучающегося;ID ОО;Класс;Предмет;Дата урока;Отметка;Вид работы;Вес;"
    "ID учителя;Дата изменения;Удалена"
)
SUBJECTS = ["Математика", "Русский язык", "Литература", "История", "Физика", "Биология"]
WORK = ["Ответ на уроке", "Контрольная работа", "Самостоятельная работа", "Домашняя работа"]
MARKS = ["5", "4", "4", "3", "5", "2", "н", "б", "у", "зач", "осв"]


def write_marks(path: Path, rows: int, students: int, orgs: int, seed: int) -> None:
    rnd = random.Random(seed)
    days = [f"{d:02d}.{m:02d}.2025" for m in (9, 10, 11, 12) for d in range(1, 29)]
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\n")
        buf = []
        for i in range(rows):
            s = rnd.randrange(students)
            day = rnd.choice(days)
            buf.append(
                f"M{seed}-{i};S{s:07d};ORG{s % orgs:04d};{5 + s % 7}А;{rnd.choice(SUBJECTS)};"
                f"{day};{rnd.choice(MARKS)};{rnd.choice(WORK)};{1 + i % 3};T{s % 5000:05d};"
                f"{day} {8 + i % 9:02d}:{i % 60:02d};нет\n"
            )
            if len(buf) >= 50_000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))


def write_reference(landing: Path, students: int, orgs: int) -> None:
    with open(landing / "organizations_20250901.csv", "w", encoding="utf-8") as f:
        f.write(
            "ID ОО;ИНН;КПП;ОГРН;Полное наименование;Краткое наименование;Тип ОО;"
            "Форма собственности;Код ОКТМО;Муниципальное образование;Местность;Головная ОО;"
            "Статус;Дата открытия;Дата закрытия\n"
        )
        for o in range(orgs):
            f.write(
                f"ORG{o:04d};7707083893;770701001;1027700132195;Школа {o};Ш{o};"
                "Общеобразовательная организация;муниципальная;45301000;Город;городская;;"
                "действующая;01.09.1990;\n"
            )
    with open(landing / "students_20250901.csv", "w", encoding="utf-8") as f:
        f.write(
            "ID обучающегося;СНИЛС;Фамилия;Имя;Отчество;Дата рождения;Пол;Гражданство;ОВЗ;"
            "Инвалидность;ОКТМО проживания\n"
        )
        for s in range(students):
            f.write(f"S{s:07d};;Иванов;Иван;;01.02.2012;М;643;нет;нет;45301000\n")


def plain_copy(url: str, path: Path, unlogged: bool = True) -> float:
    """Plain COPY of the file into a table of text columns (psycopg, 1 MiB blocks)."""
    cols = ", ".join(f"c{i} text" for i in range(12))
    table = "bench_copy" if unlogged else "bench_copy_logged"
    with psycopg.connect(url) as conn:
        conn.execute(
            f"create {'unlogged' if unlogged else ''} table if not exists {table} ({cols})"
        )
        conn.execute(f"truncate {table}")
        conn.commit()
        t0 = time.perf_counter()
        with (
            conn.cursor().copy(
                f"copy {table} from stdin (format csv, delimiter ';', header true)"
            ) as copy,
            open(path, "rb") as f,
        ):
            while block := f.read(1 << 20):
                copy.write(block)
        conn.commit()
        elapsed = time.perf_counter() - t0
        conn.execute(f"truncate {table}")
        conn.commit()
        return elapsed


def server_floor(url: str, load_id: int, scratch: Path) -> float:
    """COPY of the loader's own output (the rows it wrote to raw.marks, read back in binary
    COPY format, as the loader sends them) into raw.marks again, committed: what the server
    alone spends to store the typed rows in the logged, indexed table, whatever the loader
    does before."""
    dump = scratch / "raw_marks.copy"
    with psycopg.connect(url) as conn:
        with (
            open(dump, "wb") as f,
            conn.cursor().copy(
                "copy (select * from raw.marks where load_id = %s) to stdout (format binary)",
                (load_id,),
            ) as copy,
        ):
            for block in copy:
                f.write(block)
        conn.commit()
        t0 = time.perf_counter()
        with (
            conn.cursor().copy("copy raw.marks from stdin (format binary)") as copy,
            open(dump, "rb") as f,
        ):
            while block := f.read(1 << 20):
                copy.write(block)
        conn.commit()  # a second copy of the rows: the scratch database is dropped afterwards
        elapsed = time.perf_counter() - t0
    dump.unlink()
    return elapsed


def pandas_to_sql(url: str, path: Path, rows: int) -> float:
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    t0 = time.perf_counter()
    df = pd.read_csv(path, sep=";", nrows=rows, dtype=str, encoding="utf-8")
    df.to_sql("bench_pandas", engine, if_exists="replace", index=False, chunksize=10_000)
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed


LOADER = """
import json, sys
from ingestion.loader import load_landing
res = load_landing(sys.argv[1])
print(json.dumps([r.as_dict() for r in res]))
"""


def run_loader(url: str, landing: Path) -> tuple[list[dict], int]:
    env = dict(os.environ, WAREHOUSE_URL=url)
    env.setdefault("KONTINGENT_PSEUDONYM_KEY", "benchmark-only-key")
    proc = subprocess.Popen(
        [sys.executable, "-c", LOADER, str(landing)],
        env=env,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    out = proc.stdout.read() if proc.stdout else b""
    _pid, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"loader failed with status {status}")
    return json.loads(out), usage.ru_maxrss // 1024  # MiB


def _drop(admin: str, name: str) -> None:
    for _ in range(10):  # autovacuum may still be busy on the fresh tables
        try:
            db.drop_database(admin, name)
            return
        except psycopg.errors.InsufficientPrivilege:
            time.sleep(2)
    print(f"could not drop the scratch database {name}; drop it later", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=3_000_000, help="rows of the large marks file")
    ap.add_argument("--pandas-rows", type=int, default=500_000)
    ap.add_argument("--students", type=int, default=100_000)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args()

    settings = get_settings()
    admin = settings.local_url(ROLE_OWNER, "postgres")
    name = "kontingent_bench"
    url = db.scratch_database(settings, name, warehouse=True)
    orgs = 400
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            ref, small, large = tmp / "ref", tmp / "small", tmp / "large"
            for d in (ref, small, large):
                d.mkdir()
            print(f"writing marks files: {args.rows // 10:,} and {args.rows:,} rows ...")
            write_reference(ref, args.students, orgs)
            write_marks(small / "marks_20250915.csv", args.rows // 10, args.students, orgs, 1)
            big = large / "marks_20250916.csv"
            write_marks(big, args.rows, args.students, orgs, 2)
            size_mb = big.stat().st_size / 2**20
            run_loader(url, ref)  # students and organizations, so marks are not orphans

            load_before = os.getloadavg()[0]
            # the limit is measured before and after the loader (the machine may be shared):
            # the faster of the two counts
            t_copy = [plain_copy(url, big)]
            t_logged = [plain_copy(url, big, unlogged=False)]
            res_small, rss_small = run_loader(url, small)
            res_large, rss_large = run_loader(url, large)
            t_copy.append(plain_copy(url, big))
            t_logged.append(plain_copy(url, big, unlogged=False))
            t_floor = server_floor(url, res_large[0]["load_id"], tmp)
            t_pandas = pandas_to_sql(url, big, args.pandas_rows)
            load_after = os.getloadavg()[0]
    finally:
        if not args.keep:
            _drop(admin, name)

    r_small, r_large = res_small[0], res_large[0]
    copy_rate = args.rows / min(t_copy)
    pandas_rate = args.pandas_rows / t_pandas
    ours = r_large["rows_per_second"]
    print()
    print(
        f"large file: {args.rows:,} rows, {size_mb:,.0f} MiB; {os.cpu_count()} CPUs, "
        f"load average {load_before:.1f} at the start, {load_after:.1f} at the end"
    )
    logged_rate = args.rows / min(t_logged)
    print(f"{'method':<58}{'rows/s':>11}{'vs COPY':>9}{'vs text t.':>11}{'vs pandas':>11}")
    rows = (
        ("plain COPY into an unlogged text table (the limit)", copy_rate),
        ("plain COPY into a text table", logged_rate),
        ("binary COPY of the validated rows into raw.marks (server)", args.rows / t_floor),
        (
            f"loader, {args.rows // 10:,} rows (peak RSS {rss_small} MiB)",
            r_small["rows_per_second"],
        ),
        (f"loader, {args.rows:,} rows (peak RSS {rss_large} MiB)", ours),
        (f"pandas read_csv + to_sql, {args.pandas_rows:,} rows", pandas_rate),
    )
    for label, rate in rows:
        print(
            f"{label:<58}{rate:>11,.0f}{rate / copy_rate:>9.2f}{rate / logged_rate:>11.2f}"
            f"{rate / pandas_rate:>11.1f}"
        )
    print()
    print(
        f"loader vs COPY: {ours / copy_rate:.2f}x of the unlogged limit, "
        f"{ours / logged_rate:.2f}x of a text table (target >= 0.5); "
        f"vs pandas: {ours / pandas_rate:.1f}x (target >= 10); "
        f"peak RSS small/large: {rss_small}/{rss_large} MiB (target <= 300, flat)"
    )
    print(
        f"storing the rows alone (server, no validation) is {args.rows / t_floor / copy_rate:.2f}x "
        f"COPY: the bound of any loader that writes typed rows to raw.marks"
    )
    print(
        f"plain COPY runs (unlogged / ordinary table), s: "
        f"{' '.join(f'{t:.1f}' for t in t_copy)} / {' '.join(f'{t:.1f}' for t in t_logged)}"
    )
    print(
        f"large load: {r_large['rows_loaded']:,} loaded, {r_large['rows_rejected']:,} rejected, "
        f"{r_large['rows_orphan']:,} orphan, {r_large['seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
