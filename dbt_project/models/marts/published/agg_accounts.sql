-- ESIA adoption: accounts by role × municipality × month, with how many were linked to ESIA
-- by the end of that month. Grain: month × role × municipality.

{{ config(indexes=[{'columns': ['month_start_date', 'municipality_id']}]) }}

with

accounts as (
    select * from {{ ref('fct_account') }}
),

organizations as (
    select * from {{ ref('dim_organization') }}
    where is_current
),

months as (
    select distinct month_start_date
    from {{ ref('dim_date') }}
    where month_start_date <= (
        select max(accounts.extract_date) from {{ ref('stg_journal__accounts') }} as accounts
    )
),

placed as (
    select
        accounts.account_id,
        accounts.role_id,
        accounts.esia_linked_date,
        coalesce(
            accounts.municipality_id, organizations.municipality_id,
            '{{ var("kontingent:unknown_key") }}'
        ) as municipality_id
    from accounts
    left join organizations
        on accounts.organization_id = organizations.organization_id
),

final as (
    select
        months.month_start_date,
        placed.role_id,
        placed.municipality_id,
        count(*) as accounts,
        count(*) filter (
            where placed.esia_linked_date < (months.month_start_date + interval '1 month')::date
        ) as accounts_linked_to_esia
    from months
    cross join placed
    group by months.month_start_date, placed.role_id, placed.municipality_id
)

select * from final
