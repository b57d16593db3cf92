-- One row per portal account (one role of one person): the newest version.
with

source as (
    select * from {{ source('raw', 'accounts') }}
),

loads as (
    select load_id from {{ source('raw', 'load_log') }}
    where status = 'loaded'
),

newest as (
    select distinct on (source.account_key) source.*
    from source
    inner join loads on source.load_id = loads.load_id
    order by source.account_key asc, source.extract_date desc, source.load_id desc, source.line_number asc
),

roles as (
    select * from {{ ref('roles') }}
),

trust_levels as (
    select * from {{ ref('trust_levels') }}
),

final as (
    select
        newest.account_key as account_id,
        newest.person_key as person_id,
        coalesce(roles.role_id::int, {{ var('kontingent:unknown_key') }}) as role_id,
        newest.role as role_name_ru,
        newest.organization_id,
        coalesce(newest.oktmo, '') as oktmo,
        newest.esia_linked_at,
        newest.last_login_at,
        coalesce(trust_levels.trust_level, 'unknown') as trust_level,
        newest.extract_date,
        newest.load_id
    from newest
    left join roles
        on newest.role = roles.source_code
    left join trust_levels
        on newest.trust_level = trust_levels.source_code
)

select * from final
