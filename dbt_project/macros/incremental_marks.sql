{#-
    The pre-hook of the incremental mark fact: before the new versions are merged in, remove
    the marks that a load newer than the fact's newest one deletes (a deleted mark is never
    inserted; a mark deleted and given again in the same loads comes back with its newest
    version). A full build has nothing to remove.
-#}
{% macro fct_mark_remove_deleted() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as marks
        using {{ ref('stg_journal__mark_versions') }} as versions
        where
            versions.load_id > {{ newest_load_in_this() }}
            and versions.is_deleted
            and marks.mark_id = versions.mark_id
    {%- endif -%}
{%- endmacro %}

{#-
    Marks replaced or removed, for the incremental aggregates of marks (int_marks_by_month):
    before the fact takes in new loads, the lesson month and organization of each row about to
    be replaced or removed is noted in `fct_mark_replaced` with the load that replaces it, so
    an aggregate recomputes the months a mark leaves as well as those it enters. A full
    build of the fact starts the note afresh (its dependants are rebuilt whole with it).
-#}
{% macro fct_mark_note_replaced() -%}
    create table if not exists {{ this.schema }}.fct_mark_replaced (
        organization_id text,
        lesson_date date,
        replaced_by_load bigint not null,
        noted_at timestamptz not null default now()
    );
    create index if not exists fct_mark_replaced_load
        on {{ this.schema }}.fct_mark_replaced (replaced_by_load);
    {% if is_incremental() -%}
        insert into {{ this.schema }}.fct_mark_replaced
            (organization_id, lesson_date, replaced_by_load)
        select marks.organization_id, marks.lesson_date, changed.load_id
        from {{ this }} as marks
        inner join (
            select versions.mark_id, max(versions.load_id) as load_id
            from {{ ref('stg_journal__mark_versions') }} as versions
            where versions.load_id > {{ newest_load_in_this() }}
            group by versions.mark_id
        ) as changed
            on marks.mark_id = changed.mark_id
    {%- else -%}
        truncate {{ this.schema }}.fct_mark_replaced
    {%- endif %}
{%- endmacro %}

{#-
    The newest mark load an incremental aggregate of marks has taken in: the newest load of
    its rows (so that a full build holds the same rows), a constant as for the fact.
-#}
{% macro marks_taken_through() -%}
    {{- newest_load_in_this('newest_load') -}}
{%- endmacro %}

{#-
    The organization × lesson months a mark entered or left since load `since`, read once
    and written out as a VALUES list: the planner then knows how few they are and counts
    them again through the fact's index on organization and lesson date (as a subquery its
    estimate was tens of thousands, and it read the whole fact). Over 20,000 months
    (a long gap between runs) it stays a subquery.
-#}
{% macro marks_changed_months(since) -%}
    {%- set query -%}
        select
            marks.organization_id,
            date_trunc('month', marks.lesson_date)::date as month_start_date
        from {{ ref('fct_mark') }} as marks
        where marks.load_id > {{ since }}
        union
        select
            replaced.organization_id,
            date_trunc('month', replaced.lesson_date)::date as month_start_date
        from {{ ref('fct_mark').schema }}.fct_mark_replaced as replaced
        where replaced.replaced_by_load > {{ since }}
    {%- endset -%}
    {%- set months = run_query(query) if execute else none -%}
    {%- if months is none or months.rows | length > 20000 -%}
        {{ query }}
    {%- elif months.rows | length == 0 -%}
        select null::text as organization_id, null::date as month_start_date where false
    {%- else -%}
        select * from (values
        {%- for row in months.rows %}
            ({{ "null" if row[0] is none else "'" ~ row[0] | replace("'", "''") ~ "'" }}, date '{{ row[1] }}'){{ "," if not loop.last }}
        {%- endfor %}
        ) as changed (organization_id, month_start_date)
    {%- endif -%}
{%- endmacro %}

{#- The pre-hook of int_marks_by_month: the changed months' rows are recomputed whole. -#}
{% macro marks_by_month_remove_changed() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as monthly
        using ({{ marks_changed_months(marks_taken_through()) }}) as changed
        where
            monthly.organization_id = changed.organization_id
            and monthly.month_start_date = changed.month_start_date
    {%- endif -%}
{%- endmacro %}
