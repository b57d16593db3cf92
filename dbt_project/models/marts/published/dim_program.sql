-- Programs: level and orientation (направленность). Grain: one row per program level ×
-- orientation (orientation only for additional education); '-1' is the unknown member.
with

levels as (
    select * from {{ ref('program_levels') }}
),

orientations as (
    select * from {{ ref('program_orientations') }}
),

combined as (
    select
        levels.program_level || coalesce(':' || orientations.orientation, '') as program_id,
        levels.source_code as program_level_code,
        levels.program_level,
        levels.name_ru as program_level_ru,
        levels.is_main::boolean as is_main_program,
        orientations.source_code as orientation_code,
        orientations.orientation,
        orientations.name_ru as orientation_ru
    from levels
    left join orientations
        on levels.program_level = 'additional'
),

unknown as (
    select
        '{{ var("kontingent:unknown_key") }}' as program_id,
        null::text as program_level_code,
        'unknown' as program_level,
        'Неизвестная программа' as program_level_ru,
        null::boolean as is_main_program,
        null::text as orientation_code,
        null::text as orientation,
        null::text as orientation_ru
),

final as (
    select * from combined
    union all
    select * from unknown
)

select * from final
