-- Пользователи электронных дневников и журналов, зарегистрированные в ЕСИА: portal accounts
-- by role and the day each was linked to ESIA (null: not linked), so that the form counts the
-- accounts linked on or before any date. An account without an organization (education
-- department, system administrator) counts in its municipality and the region only.
-- Grain: level × territory × role × ESIA link date.
with

accounts as (
    select * from {{ ref('fct_account') }}
),

cutoff as (
    select cutoff_date from {{ ref('forms_data_cutoff') }}
    where feed = 'accounts'
),

pairs as (
    select distinct
        accounts.organization_id,
        cutoff.cutoff_date as on_date
    from accounts
    cross join cutoff
    where accounts.organization_id is not null
),

units as (
    {{ forms_reporting_units('pairs') }}
),

account_rows as (
    select
        accounts.account_id,
        accounts.role_id,
        accounts.esia_linked_date,
        accounts.organization_id as unit_id,
        units.reporting_organization_id,
        coalesce(
            accounts.municipality_id, units.municipality_id, '{{ var("kontingent:unknown_key") }}'
        ) as municipality_id
    from accounts
    left join units
        on accounts.organization_id = units.organization_id
),

final as (
    select
        {{ forms_level_columns() }},
        role_id,
        esia_linked_date,
        count(*) as accounts
    from account_rows
    group by role_id, esia_linked_date, {{ forms_level_sets() }}
)

select * from final
-- accounts without an organization have no organization-level row
where territory_id is not null
