-- What: for each academic year, flow level and node, the out-flows equal the node's leavers
-- (main-program exits, a return to the same organization apart), counted from the movements.
-- When it matters: a flow chart that loses or invents students misleads every reader.
-- How to resolve: a difference means int_trajectory_moves dropped or duplicated an exit.
{{ config(severity='error') }}

with

exits as (
    select * from {{ ref('int_main_exits_matched') }}
    where match_outcome <> 'returned'
),

first_year as (
    select {{ academic_year_of('first_extract_date') }} as academic_year_start
    from {{ ref('int_data_cutoff') }}
),

leavers as (
    select
        exits.academic_year_start,
        exits.organization_id as node_id,
        count(*) as leavers
    from exits
    cross join first_year
    where exits.academic_year_start >= first_year.academic_year_start
    group by exits.academic_year_start, exits.organization_id
),

out_flows as (
    select
        academic_year_start,
        source_id as node_id,
        sum(students) as students
    from {{ ref('agg_trajectory_flows') }}
    where flow_level = 'organization' and source_id not in ('outside_region', 'not_enrolled')
    group by academic_year_start, source_id
),

level_totals as (
    select
        academic_year_start,
        flow_level,
        sum(students) filter (where source_id not in ('outside_region', 'not_enrolled'))
            as leaving
    from {{ ref('agg_trajectory_flows') }}
    group by academic_year_start, flow_level
),

final as (
    select
        coalesce(leavers.academic_year_start, out_flows.academic_year_start)
            as academic_year_start,
        coalesce(leavers.node_id, out_flows.node_id) as node_id,
        leavers.leavers,
        out_flows.students as out_flows
    from leavers
    full outer join out_flows
        on
            leavers.academic_year_start = out_flows.academic_year_start
            and leavers.node_id = out_flows.node_id
    where leavers.leavers is distinct from out_flows.students
    union all
    select
        organization_level.academic_year_start,
        other_level.flow_level as node_id,
        organization_level.leaving as leavers,
        other_level.leaving as out_flows
    from level_totals as organization_level
    inner join level_totals as other_level
        on
            organization_level.academic_year_start = other_level.academic_year_start
            and organization_level.flow_level = 'organization'
            and other_level.flow_level <> 'organization'
    where organization_level.leaving is distinct from other_level.leaving
)

select * from final
