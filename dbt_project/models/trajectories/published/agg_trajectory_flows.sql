-- Flows of students per academic year in the shape a Sankey chart reads directly (source,
-- target, value), at three levels: organization → organization, municipality → municipality
-- and organization type → organization type, with "outside the region", "not enrolled" and
-- "pending" as explicit nodes. A move within one municipality (or between organizations of one
-- type) is a flow from a node to itself at that level: a chart leaves those out, the counts
-- keep them so that a node's out-flows equal its leavers. No persons: counts of moves only.
-- Grain: academic year × flow level × source × target.
with

moves as (
    select * from {{ ref('int_trajectory_moves') }}
),

organizations as (
    select * from {{ ref('dim_organization') }}
    where is_current
),

municipalities as (
    select * from {{ ref('dim_municipality') }}
),

organization_types as (
    select * from {{ ref('organization_types') }}
),

special_nodes (node_id, node_name) as (
    values
    ('outside_region', 'За пределами региона'),
    ('not_enrolled', 'Не обучается'),
    ('pending', 'Ожидается зачисление')
),

unknown as (
    select '{{ var("kontingent:unknown_key") }}' as unknown_key
),

edges as (
    select
        moves.academic_year_start,
        'organization' as flow_level,
        case
            when moves.source_kind = 'organization' then moves.source_organization_id
            else moves.source_kind
        end as source_id,
        case
            when moves.target_kind = 'organization' then moves.target_organization_id
            else moves.target_kind
        end as target_id
    from moves
    union all
    select
        moves.academic_year_start,
        'municipality' as flow_level,
        case
            when moves.source_kind = 'organization'
                then coalesce(moves.source_municipality_id, unknown.unknown_key)
            else moves.source_kind
        end as source_id,
        case
            when moves.target_kind = 'organization'
                then coalesce(moves.target_municipality_id, unknown.unknown_key)
            else moves.target_kind
        end as target_id
    from moves
    cross join unknown
    union all
    select
        moves.academic_year_start,
        'organization_type' as flow_level,
        case
            when moves.source_kind = 'organization'
                then coalesce(moves.source_organization_type, 'unknown')
            else moves.source_kind
        end as source_id,
        case
            when moves.target_kind = 'organization'
                then coalesce(moves.target_organization_type, 'unknown')
            else moves.target_kind
        end as target_id
    from moves
),

counted as (
    select
        academic_year_start,
        flow_level,
        source_id,
        target_id,
        count(*) as students
    from edges
    group by academic_year_start, flow_level, source_id, target_id
),

named_nodes as (
    select
        'organization' as flow_level,
        organization_id as node_id,
        short_name as node_name
    from organizations
    union all
    select
        'municipality' as flow_level,
        municipality_id as node_id,
        municipality_name as node_name
    from municipalities
    union all
    select
        'organization_type' as flow_level,
        organization_type as node_id,
        name_ru as node_name
    from organization_types
    union all
    select
        levels.flow_level,
        special_nodes.node_id,
        special_nodes.node_name
    from special_nodes
    cross join
        (values ('organization'), ('municipality'), ('organization_type')) as levels (flow_level)
),

final as (
    select
        counted.academic_year_start,
        counted.academic_year_start || '/' || counted.academic_year_start + 1 as academic_year,
        counted.flow_level,
        counted.source_id,
        coalesce(sources.node_name, counted.source_id) as source_name,
        counted.target_id,
        coalesce(targets.node_name, counted.target_id) as target_name,
        counted.source_id = counted.target_id as is_within_node,
        counted.students
    from counted
    left join named_nodes as sources
        on counted.flow_level = sources.flow_level and counted.source_id = sources.node_id
    left join named_nodes as targets
        on counted.flow_level = targets.flow_level and counted.target_id = targets.node_id
)

select * from final
