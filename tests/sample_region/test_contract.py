"""Every file of a generated region parses under the feed contract: names, headers, encodings,
field counts, date formats, code lists and checksums (where not deliberately broken)."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook
from region_reader import (
    TIMESTAMP,
    decode,
    feed_files,
    inn_ok,
    norm,
    ogrn_ok,
    parse_date,
    read_csv,
    read_jsonl,
    snils_ok,
)

HEADERS = {
    "organizations": "ID ОО;ИНН;КПП;ОГРН;Полное наименование;Краткое наименование;Тип ОО;"
    "Форма собственности;Код ОКТМО;Муниципальное образование;Местность;Головная ОО;Статус;"
    "Дата открытия;Дата закрытия",
    "students": "ID обучающегося;СНИЛС;Фамилия;Имя;Отчество;Дата рождения;Пол;Гражданство;ОВЗ;"
    "Инвалидность;ОКТМО проживания",
    "movements": "ID события;ID обучающегося;ID ОО;Тип события;Дата события;Вид программы;"
    "Направленность;Код программы;Параллель;Класс;Форма обучения;Причина;ОО назначения;"
    "Номер приказа;Дата приказа;Удалена",
    "marks": "ID отметки;ID обучающегося;ID ОО;Класс;Предмет;Дата урока;Отметка;Вид работы;Вес;"
    "ID учителя;Дата изменения;Удалена",
    "final_marks": "ID обучающегося;ID ОО;Учебный год;Период;Предмет;Отметка;Дата выставления",
}
EVENT_TYPES = {"Зачисление", "Перевод в следующий класс", "Оставлен на повторное обучение",
               "Отчисление", "Выпуск", "Восстановление"}  # fmt: skip
PROGRAMS = {"ДО", "НОО", "ООО", "СОО", "СПО", "ДОП"}
DIRECTIONS = {"техническая", "естественнонаучная", "физкультурно-спортивная", "художественная",
              "туристско-краеведческая", "социально-гуманитарная"}  # fmt: skip
REASONS = {
    "перевод в другую ОО",
    "смена места жительства",
    "по инициативе обучающегося",
    "по инициативе ОО",
    "завершение обучения",
    "переход на семейное образование",
    "иное",
}
MARKS = {"1", "2", "3", "4", "5", "н", "б", "у", "зач", "незач", "осв"}
FINAL = {"2", "3", "4", "5", "зач", "незач", "н/а", "осв"}
PERIODS = {f"{i} четверть" for i in range(1, 5)} | {"1 полугодие", "2 полугодие", "Год",
           "Экзамен", "Итоговая"} | {f"{i} триместр" for i in range(1, 4)}  # fmt: skip
ROLES = {"Ученик", "Родитель ученика", "Учитель-предметник", "Классный руководитель",
         "Заведующий учебной частью", "Администратор школы", "Директор школы",
         "Управление образованием", "Администратор системы"}  # fmt: skip
TYPES = {"Общеобразовательная организация", "Дошкольная образовательная организация",
         "Профессиональная образовательная организация",
         "Организация дополнительного образования"}  # fmt: skip


def _check_row(feed: str, r: dict[str, str]) -> None:
    if feed == "organizations":
        assert inn_ok(r["инн"]) and ogrn_ok(r["огрн"]) and len(r["кпп"]) == 9
        assert r["тип оо"] in TYPES
        assert len(r["код октмо"]) in (8, 11)
        assert r["местность"] in ("городская", "сельская")
        assert r["статус"] in ("действующая", "реорганизована", "ликвидирована", "приостановлена")
        parse_date(r["дата открытия"])
        if r["дата закрытия"]:
            parse_date(r["дата закрытия"])
    elif feed == "students":
        assert r["снилс"] == "" or snils_ok(r["снилс"]), r["снилс"]
        parse_date(r["дата рождения"])
        assert r["пол"] in ("М", "Ж") and r["овз"] in ("да", "нет")
        assert r["инвалидность"] in ("да", "нет")
        assert r["фамилия"] and r["имя"]
    elif feed == "movements":
        assert r["тип события"] in EVENT_TYPES
        parse_date(r["дата события"])
        parse_date(r["дата приказа"])
        assert r["вид программы"] in PROGRAMS
        assert (r["направленность"] in DIRECTIONS) == (r["вид программы"] == "ДОП")
        assert r["причина"] == "" or r["причина"] in REASONS
        assert r["удалена"] in ("да", "нет")
        if r["вид программы"] in ("НОО", "ООО", "СОО"):
            assert 1 <= int(r["параллель"]) <= 11
    elif feed == "marks":
        assert r["отметка"] in MARKS, r["отметка"]
        parse_date(r["дата урока"])
        assert TIMESTAMP.match(r["дата изменения"])
        assert r["вес"] in ("1", "2", "3") and r["удалена"] in ("да", "нет")
    elif feed == "final_marks":
        assert r["отметка"] in FINAL and r["период"] in PERIODS
        parse_date(r["дата выставления"])


@pytest.mark.parametrize("region", ["correctness", "dirty"])
def test_every_file_parses_under_the_contract(region, request):
    folder, manifest = request.getfixturevalue(region)
    defects = manifest["defects"]
    whole = {d["file"] for d in defects if d["line"] is None and d["treatment"] != "accept"}
    bad_lines = {(d["file"], d["line"]) for d in defects if d["treatment"] != "accept"}
    caps_or_trailing = {d["file"] for d in defects if d["kind"] in (
        "header_capitals", "trailing_empty_column")}  # fmt: skip
    listed = {f["name"]: f for f in manifest["files"]}
    encodings = set()
    files = feed_files(folder)
    assert {f.feed for f in files} == set(HEADERS) | {"accounts"}
    for f in files:
        assert f.path.name in listed
        if f.path.name in whole:
            continue
        if f.ext == "jsonl":
            for n, obj in enumerate(read_jsonl(f.path), start=1):
                assert obj["role"] in ROLES
                if obj["esia_linked_at"]:
                    assert obj["esia_oid"] and obj["trust_level"]
                assert set(obj) == {
                    "account_id",
                    "esia_oid",
                    "role",
                    "org_id",
                    "oktmo",
                    "esia_linked_at",
                    "last_login_at",
                    "trust_level",
                }, n
            continue
        if f.ext == "xlsx":
            ws = load_workbook(f.path, read_only=True).worksheets[0]
            rows = [
                [c if c is not None else "" for c in row] for row in ws.iter_rows(values_only=True)
            ]
            header = [norm(h) for h in rows[0]]
            assert header == [norm(h) for h in HEADERS[f.feed].split(";")]
            for n, row in enumerate(rows[1:], start=2):
                if (f.path.name, n) not in bad_lines:
                    _check_row(f.feed, dict(zip(header, row, strict=True)))
            continue
        _, enc = decode(f.path.read_bytes())
        encodings.add(enc)
        header, rows = read_csv(f.path)
        expected = [norm(h) for h in HEADERS[f.feed].split(";")]
        if f.path.name in caps_or_trailing:
            header = [h for h in header if h]
        assert header == expected, f.path.name
        for n, row in enumerate(rows, start=2):
            if (f.path.name, n) in bad_lines:
                continue
            if f.path.name in caps_or_trailing and row and row[-1] == "":
                row = row[:-1]
            assert len(row) == len(expected), (f.path.name, n)
            _check_row(f.feed, dict(zip(expected, row, strict=True)))
    assert encodings == {"utf-8", "utf-8-sig", "cp1251"}


def test_line_ends_and_date_formats_vary(correctness):
    _, manifest = correctness
    files = [f for f in manifest["files"] if f.get("format") == "csv"]
    assert {f["newline"] for f in files} == {"CRLF", "LF"}
    assert {f["date_format"] for f in files} == {"ISO", "ДД.ММ.ГГГГ"}
    assert any(f["format"] == "xlsx" for f in manifest["files"])


def test_manifest_is_not_a_feed_file(correctness):
    folder, manifest = correctness
    assert (folder / "_manifest.json").exists()
    assert json.loads((folder / "_manifest.json").read_text(encoding="utf-8")) == manifest


def test_keys_are_unique_within_each_clean_file(correctness):
    folder, _ = correctness
    key_columns = {
        "organizations": (0,),
        "students": (0,),
        "movements": (0,),
        "marks": (0,),
        "final_marks": (0, 1, 2, 3, 4),
    }
    for f in feed_files(folder):
        if f.ext == "xlsx":
            continue
        if f.ext == "jsonl":
            keys = [obj["account_id"] for obj in read_jsonl(f.path)]
        else:
            _, rows = read_csv(f.path)
            keys = [tuple(row[i] for i in key_columns[f.feed]) for row in rows]
        assert len(keys) == len(set(keys)), f.path.name
