-- ESIA trust levels on the data cut-off: accounts linked to ESIA by the trust level of the
-- person's ESIA account, per role and municipality. Only a confirmed (`confirmed`) account may
-- sign in to the analytics. Grain: role × municipality × trust level.

with

accounts as (
    select * from {{ ref('fct_account') }}
),

organizations as (
    select * from {{ ref('dim_organization') }}
    where is_current
),

placed as (
    select
        accounts.role_id,
        accounts.trust_level,
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
        placed.role_id,
        placed.municipality_id,
        placed.trust_level,
        count(*) as accounts_linked_to_esia
    from placed
    where placed.esia_linked_date is not null
    group by placed.role_id, placed.municipality_id, placed.trust_level
)

select * from final
