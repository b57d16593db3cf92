{#-
    Loads already checked. Raw history never changes once a load is committed, so a test of
    what holds within each load (`unique_in_each_load`) need not re-read the loads a passing
    run has checked: each run reads only the loads after the newest one checked for its model.

    - on-run-start (`checked_loads_start`): notes the newest committed load as the invocation
      begins; every load up to it is visible to every test of the invocation.
    - the test reads `load_id > checked_through_load(model)`: 0 on --full-refresh, with the
      variable `kontingent:check_all_loads` true, or before the first passing run.
    - on-run-end (`checked_loads_end`): for each such test that passed, the model is checked
      through the load noted at the start. One invocation per task (Airflow through Cosmos)
      works the same as one `dbt build`.

    Tables: core.dbt_invocation_loads (invocation → newest load at its start, kept 30 days)
    and core.dbt_checked_loads (model → newest load checked).
-#}

{% macro checked_loads_start() -%}
    {%- if execute and adapter.get_relation(database=target.database, schema='raw', identifier='load_log') -%}
        create schema if not exists core;
        create table if not exists core.dbt_invocation_loads (
            invocation_id text primary key,
            newest_load bigint not null,
            started_at timestamptz not null default now()
        );
        create table if not exists core.dbt_checked_loads (
            model_name text primary key,
            checked_through_load bigint not null,
            checked_at timestamptz not null
        );
        delete from core.dbt_invocation_loads where started_at < now() - interval '30 days';
        insert into core.dbt_invocation_loads (invocation_id, newest_load)
        select '{{ invocation_id }}', coalesce(max(load_id), 0)
        from {{ source('raw', 'load_log') }}
        where status = 'loaded'
        on conflict (invocation_id) do nothing;
    {%- endif -%}
{%- endmacro %}

{% macro checked_through_load(model_name) -%}
    {%- if flags.FULL_REFRESH or var('kontingent:check_all_loads', false) -%}
        0
    {%- else -%}
        coalesce((
            select checked.checked_through_load
            from core.dbt_checked_loads as checked
            where checked.model_name = '{{ model_name }}'
        ), 0)
    {%- endif -%}
{%- endmacro %}

{% macro checked_loads_end(results) -%}
    {%- if execute -%}
        {%- for result in results
            if result.node.resource_type == 'test'
            and result.status == 'pass'
            and result.node.test_metadata
            and result.node.test_metadata.name == 'unique_in_each_load' %}
            insert into core.dbt_checked_loads (model_name, checked_through_load, checked_at)
            select '{{ result.node.attached_node.split(".")[-1] }}', newest_load, now()
            from core.dbt_invocation_loads
            where invocation_id = '{{ invocation_id }}'
            on conflict (model_name) do update
            set
                checked_through_load = greatest(
                    core.dbt_checked_loads.checked_through_load, excluded.checked_through_load
                ),
                checked_at = excluded.checked_at;
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
