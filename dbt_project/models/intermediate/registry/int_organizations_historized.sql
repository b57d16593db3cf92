-- Type-2 history of the organization registry: consecutive weekly snapshots with the same
-- attributes collapse into one version, valid from its first snapshot until the next version.
with

snapshots as (
    select * from {{ ref('stg_kontingent__organization_snapshots') }}
),

hashed as (
    select
        *,
        md5(concat_ws(
            '|', full_name, short_name, organization_type, ownership, oktmo, locality,
            parent_organization_id, organization_status, opened_on::text, closed_on::text
        )) as attributes_hash
    from snapshots
),

changes as (
    select
        *,
        coalesce(attributes_hash <> lag(attributes_hash) over (
            partition by organization_id order by extract_date
        ), true) as is_new_version
    from hashed
),

numbered as (
    select
        *,
        sum(case when is_new_version then 1 else 0 end) over (
            partition by organization_id
            order by extract_date
            rows between unbounded preceding and current row
        ) as version_number
    from changes
),

versions as (
    select distinct on (organization_id, version_number)
        organization_id,
        version_number,
        extract_date as valid_from,
        full_name,
        short_name,
        inn,
        kpp,
        ogrn,
        is_inn_valid,
        is_ogrn_valid,
        organization_type,
        ownership,
        oktmo,
        municipality_name,
        locality,
        parent_organization_id,
        organization_status,
        opened_on,
        closed_on
    from numbered
    where is_new_version
    order by organization_id, version_number, extract_date
),

final as (
    select
        *,
        coalesce(
            lead(valid_from) over (partition by organization_id order by version_number),
            'infinity'::date
        ) as valid_to
    from versions
)

select * from final
