-- Who was enrolled where on each count date (20 September of each year up to the data
-- cut-off, and the cut-off itself). Grain: one row per count date × enrolment spell.
with

cutoff as (
    select max(extract_date) as cutoff_date from {{ ref('stg_kontingent__movements') }}
),

count_dates as (
    select dim_date.date_day as count_date
    from {{ ref('dim_date') }} as dim_date
    cross join cutoff
    where dim_date.is_count_date and dim_date.date_day <= cutoff.cutoff_date
    union
    select cutoff_date as count_date
    from cutoff
    where cutoff_date is not null
),

enrolled as (
    {{ enrolled_on('count_dates') }}
),

final as (
    select
        enrolled.*,
        enrolled.count_date = cutoff.cutoff_date as is_cutoff_date
    from enrolled
    cross join cutoff
)

select * from final
