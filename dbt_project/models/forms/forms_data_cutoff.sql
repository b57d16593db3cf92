-- The data cut-off every form states: the newest extract date loaded, per feed and overall.
-- Grain: one row per feed, plus the row `all`.
with

feeds as (
    select
        'organizations' as feed,
        max(extract_date) as cutoff_date
    from {{ ref('stg_kontingent__organization_snapshots') }}
    union all
    select
        'students' as feed,
        max(extract_date) as cutoff_date
    from {{ ref('stg_kontingent__students') }}
    union all
    select
        'movements' as feed,
        max(extract_date) as cutoff_date
    from {{ ref('stg_kontingent__movements') }}
    union all
    select
        'final_marks' as feed,
        max(extract_date) as cutoff_date
    from {{ ref('stg_journal__final_marks') }}
    union all
    select
        'accounts' as feed,
        max(extract_date) as cutoff_date
    from {{ ref('stg_journal__accounts') }}
),

final as (
    select
        feed,
        cutoff_date
    from feeds
    union all
    select
        'all' as feed,
        max(cutoff_date) as cutoff_date
    from feeds
)

select * from final
