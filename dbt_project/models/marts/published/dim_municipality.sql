-- Municipalities (муниципальный район / городской округ): the first 5 digits of OKTMO.
-- Grain: one row per municipality; '-1' is the unknown member.
with

organizations as (
    select * from {{ ref('int_organizations_historized') }}
),

named as (
    select distinct on (left(oktmo, 5))
        municipality_name,
        locality,
        left(oktmo, 5) as municipality_id
    from organizations
    where oktmo is not null
    order by left(oktmo, 5), valid_from desc, organization_id asc
),

final as (
    select
        municipality_id,
        municipality_name
    from named
    union all
    select
        '{{ var("kontingent:unknown_key") }}' as municipality_id,
        'Неизвестное муниципальное образование' as municipality_name
)

select * from final
