-- One row per role: the nine portal roles, the analyst role, and the unknown member.
with

roles as (
    select * from {{ ref('roles') }}
),

unknown as (
    select
        {{ var('kontingent:unknown_key') }}::int as role_id,
        'неизвестная роль'::text as role_name_ru,
        'unknown'::text as role,
        'none'::text as scope,
        false as is_portal_role
),

final as (
    select
        role_id::int as role_id,
        source_code::text as role_name_ru,
        role::text as role,
        scope::text as scope,
        is_portal_role::boolean as is_portal_role
    from roles
    union all
    select * from unknown
)

select * from final
