{#-
    Clocks of the migration trajectories (see docs/trajectories.md).

    `school_days_between(start, end)`: days from `start` to `end` (the days after `start` up to
    and including `end`) not counting the summer holidays, 1 June – 31 August. A child who
    leaves in June and is admitted on 1 September has been away one day, not ninety.

    `academic_year_of(day)`: the academic year (its starting calendar year) a date belongs to;
    a school year runs from 1 September to 31 August.

    `transfer_window_days()`: the matching window, the project variable
    `kontingent:transfer_window_days` (30 days by default, summer not counted).
-#}

{% macro school_days_between(start, end) -%}
    (
        ({{ end }})::date - ({{ start }})::date
        - coalesce((
            select
                sum(greatest(
                    0,
                    least(({{ end }})::date, make_date(summer.year_number, 8, 31))
                    - greatest(({{ start }})::date + 1, make_date(summer.year_number, 6, 1))
                    + 1
                ))
            from generate_series(
                extract(year from ({{ start }})::date)::int,
                extract(year from ({{ end }})::date)::int
            ) as summer (year_number)
        ), 0)
    )
{%- endmacro %}

{% macro academic_year_of(day) -%}
    (extract(year from ({{ day }})::date)::int
    - case when extract(month from ({{ day }})::date) >= 9 then 0 else 1 end)
{%- endmacro %}

{% macro transfer_window_days() -%}
    {{ var('kontingent:transfer_window_days', 30) | int }}
{%- endmacro %}

{#- A lateral subquery: the registry version of `organization_id` valid on `on_date` (before
    the registry's history begins, its earliest version), with its municipality and type. -#}
{% macro organization_version_on(organization_id, on_date) -%}
    (
        select
            versions.organization_type,
            versions.organization_status,
            versions.closed_on,
            left(versions.oktmo, 5) as municipality_id
        from {{ ref('int_organizations_historized') }} as versions
        where versions.organization_id = {{ organization_id }}
        order by
            (versions.valid_from <= {{ on_date }}) desc,
            case when versions.valid_from <= {{ on_date }} then versions.valid_from end desc,
            versions.valid_from asc
        limit 1
    )
{%- endmacro %}
