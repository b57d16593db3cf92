-- Arrivals and departures of the student body by month, for the trajectories dashboard.
-- Arrivals: new admissions, transfers in and restorations; departures: transfers out,
-- expulsions and graduations; promotions and repeats stay within the organization. Counts of
-- events, no persons. Grain: month × organization × program level × movement category.

{{ config(indexes=[{'columns': ['month_start_date', 'organization_id']}]) }}

with

movements as (
    select * from {{ ref('fct_movement') }}
),

final as (
    select
        date_trunc('month', event_date)::date as month_start_date,
        academic_year_start,
        academic_year_start || '/' || academic_year_start + 1 as academic_year,
        organization_id,
        program_level,
        is_main_program,
        movement_category,
        case
            when movement_category in ('new_admission', 'transfer_in', 'restoration') then 'arrival'
            when movement_category in ('transfer_out', 'expulsion', 'graduation') then 'departure'
            else 'within'
        end as direction,
        count(*) as events
    from movements
    group by 1, 2, 3, 4, 5, 6, 7
)

select * from final
