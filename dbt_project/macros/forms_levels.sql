{#-
    Territorial levels of the official forms (see docs/forms.md).

    `forms_reporting_units(pairs)`: for each (organization_id, on_date) of the relation `pairs`,
    the organization's registry version valid on that date (or, for a date before the
    registry's history, its earliest version), with the reporting organization (the head
    organization for a branch) and the municipality the form counts it in (the head's).

    `forms_level_sets()` and `forms_level_columns()`: one grouping set per level (to add to the
    form's own grouping columns), so that
    every figure, unduplicated counts included, is computed afresh at each level:
    unit (each organization or branch on its own), organization (a head organization with its
    branches), municipality, region.
-#}

{% macro forms_version_on(organization_column, date_column) -%}
    select
        versions.organization_id,
        versions.reporting_organization_id,
        versions.municipality_id,
        versions.locality
    from {{ ref('dim_organization') }} as versions
    where versions.organization_id = {{ organization_column }}
    order by
        case
            when {{ date_column }} >= versions.valid_from and {{ date_column }} < versions.valid_to
                then 0
            when versions.valid_from > {{ date_column }} then 1
            else 2
        end,
        versions.valid_from asc
    limit 1
{%- endmacro %}

{% macro forms_reporting_units(pairs) -%}
    select
        pairs.organization_id,
        pairs.on_date,
        coalesce(own.locality, 'unknown') as locality,
        coalesce(own.reporting_organization_id, pairs.organization_id) as reporting_organization_id,
        coalesce(head.municipality_id, own.municipality_id, '{{ var("kontingent:unknown_key") }}')
            as municipality_id
    from {{ pairs }} as pairs
    left join lateral (
        {{ forms_version_on('pairs.organization_id', 'pairs.on_date') }}
    ) as own on true
    left join lateral (
        {{ forms_version_on('own.reporting_organization_id', 'pairs.on_date') }}
    ) as head on true
{%- endmacro %}

{% macro forms_level_sets() -%}
    grouping sets (
        (unit_id, reporting_organization_id, municipality_id),
        (reporting_organization_id, municipality_id),
        (municipality_id),
        ()
    )
{%- endmacro %}

{% macro forms_level_columns() -%}
    case
        when grouping(unit_id) = 0 then 'unit'
        when grouping(reporting_organization_id) = 0 then 'organization'
        when grouping(municipality_id) = 0 then 'municipality'
        else 'region'
    end as level,
    case
        when grouping(unit_id) = 0 then unit_id
        when grouping(reporting_organization_id) = 0 then reporting_organization_id
        when grouping(municipality_id) = 0 then municipality_id
        else 'region'
    end as territory_id,
    municipality_id
{%- endmacro %}
