-- Educational organizations with their registry history (type 2). Grain: one row per
-- organization version; `organization_key` = organization_id || '#' || version. The unknown
-- member has key '-1' so facts about organizations not in the registry keep their rows.
with

versions as (
    select * from {{ ref('int_organizations_historized') }}
),

organization_types as (
    select * from {{ ref('organization_types') }}
),

known as (
    select
        versions.organization_id || '#' || versions.version_number as organization_key,
        versions.organization_id,
        versions.version_number,
        versions.valid_from,
        versions.valid_to,
        versions.valid_to = 'infinity'::date as is_current,
        versions.full_name,
        versions.short_name,
        versions.inn,
        versions.ogrn,
        versions.is_inn_valid,
        versions.is_ogrn_valid,
        versions.organization_type,
        organization_types.name_ru as organization_type_ru,
        versions.ownership,
        versions.oktmo,
        left(versions.oktmo, 5) as municipality_id,
        versions.municipality_name,
        versions.locality,
        versions.parent_organization_id,
        versions.parent_organization_id is not null as is_branch,
        coalesce(versions.parent_organization_id, versions.organization_id)
            as reporting_organization_id,
        versions.organization_status,
        versions.opened_on,
        versions.closed_on
    from versions
    left join organization_types
        on versions.organization_type = organization_types.organization_type
),

unknown as (
    select
        '{{ var("kontingent:unknown_key") }}' as organization_key,
        '{{ var("kontingent:unknown_key") }}' as organization_id,
        1::bigint as version_number,
        '-infinity'::date as valid_from,
        'infinity'::date as valid_to,
        true as is_current,
        'Неизвестная организация' as full_name,
        'Неизвестная организация' as short_name,
        null::text as inn,
        null::text as ogrn,
        null::boolean as is_inn_valid,
        null::boolean as is_ogrn_valid,
        'unknown' as organization_type,
        'Неизвестный тип' as organization_type_ru,
        'unknown' as ownership,
        null::text as oktmo,
        '{{ var("kontingent:unknown_key") }}' as municipality_id,
        null::text as municipality_name,
        'unknown' as locality,
        null::text as parent_organization_id,
        false as is_branch,
        '{{ var("kontingent:unknown_key") }}' as reporting_organization_id,
        'unknown' as organization_status,
        null::date as opened_on,
        null::date as closed_on
),

final as (
    select * from known
    union all
    select * from unknown
)

select * from final
