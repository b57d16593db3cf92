"""organizations — Реестр образовательных организаций (full snapshot; CSV or XLSX, first sheet)."""

from ingestion.contracts import Column, Feed, Ref

ORGANIZATION_TYPES = (
    "Общеобразовательная организация",
    "Дошкольная образовательная организация",
    "Профессиональная образовательная организация",
    "Организация дополнительного образования",
)
OWNERSHIP = ("государственная", "муниципальная", "частная")
LOCALITY = ("городская", "сельская")
STATUSES = ("действующая", "реорганизована", "ликвидирована", "приостановлена")

FEED = Feed(
    name="organizations",
    title="Реестр образовательных организаций",
    order=1,
    mode="snapshot",
    formats=("csv", "xlsx"),
    columns=(
        Column("organization_id", "ID ОО", "id", required=True),
        Column("inn", "ИНН", "inn", in_header=True),
        Column("kpp", "КПП", "kpp"),
        Column("ogrn", "ОГРН", "ogrn", in_header=True),
        Column("full_name", "Полное наименование", required=True),
        Column("short_name", "Краткое наименование"),
        Column("organization_type", "Тип ОО", "code", required=True, codes=ORGANIZATION_TYPES),
        Column("ownership", "Форма собственности", "code", codes=OWNERSHIP, in_header=True),
        Column("oktmo", "Код ОКТМО", "oktmo", required=True, aliases=("ОКТМО",)),
        Column("municipality_name", "Муниципальное образование"),
        Column("locality", "Местность", "code", codes=LOCALITY),
        Column("parent_organization_id", "Головная ОО", "id"),
        Column("organization_status", "Статус", "code", required=True, codes=STATUSES),
        Column("opened_on", "Дата открытия", "date"),
        Column("closed_on", "Дата закрытия", "date"),
    ),
    key=("organization_id",),
    refs=(Ref("parent_organization_id", "organization"),),
    registers=(Ref("organization_id", "organization"),),
)
