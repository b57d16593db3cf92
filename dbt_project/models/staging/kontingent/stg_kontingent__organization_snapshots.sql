-- One row per organization per registry snapshot (extract date): the history that
-- dim_organization condenses into versions. Codes in English enums.
with

source as (
    select * from {{ source('raw', 'organizations') }}
),

loads as (
    select load_id from {{ source('raw', 'load_log') }}
    where status = 'loaded'
),

newest_in_snapshot as (
    -- a snapshot re-sent for the same date replaces the earlier one
    select distinct on (source.organization_id, source.extract_date) source.*
    from source
    inner join loads on source.load_id = loads.load_id
    order by source.organization_id asc, source.extract_date asc, source.load_id desc, source.line_number asc
),

organization_types as (
    select * from {{ ref('organization_types') }}
),

statuses as (
    select * from {{ ref('organization_statuses') }}
),

ownership_forms as (
    select * from {{ ref('ownership_forms') }}
),

final as (
    select
        snapshot.organization_id,
        snapshot.extract_date,
        snapshot.load_id,
        snapshot.full_name,
        snapshot.short_name,
        snapshot.inn,
        snapshot.kpp,
        snapshot.ogrn,
        snapshot.is_inn_valid,
        snapshot.is_ogrn_valid,
        snapshot.oktmo,
        snapshot.municipality_name,
        snapshot.parent_organization_id,
        snapshot.opened_on,
        snapshot.closed_on,
        coalesce(organization_types.organization_type, 'unknown') as organization_type,
        coalesce(ownership_forms.ownership, 'unknown') as ownership,
        case snapshot.locality
            when 'городская' then 'urban'
            when 'сельская' then 'rural'
            else 'unknown'
        end as locality,
        coalesce(statuses.organization_status, 'unknown') as organization_status
    from newest_in_snapshot as snapshot
    left join organization_types
        on snapshot.organization_type = organization_types.source_code
    left join statuses
        on snapshot.organization_status = statuses.source_code
    left join ownership_forms
        on snapshot.ownership = ownership_forms.source_code
)

select * from final
