-- Portal accounts (one role of one person). Grain: one row per account.
with

accounts as (
    select * from {{ ref('stg_journal__accounts') }}
),

final as (
    select
        account_id,
        person_id,
        role_id,
        organization_id,
        esia_linked_at,
        last_login_at,
        trust_level,
        left(nullif(oktmo, ''), 5) as municipality_id,
        (esia_linked_at at time zone 'Europe/Moscow')::date as esia_linked_date
    from accounts
)

select * from final
