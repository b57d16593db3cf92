{#-
    The newest load in an incremental model's table (the greatest `column`; 0 when it is built
    whole), read when the model or a hook is rendered, so the queries compare load_id with a
    constant: with a subquery the planner guessed a third of the mark fact's versions new and
    joined them to the whole fact (seconds per run).
-#}
{% macro newest_load_in_this(column='load_id') -%}
    {%- if execute and is_incremental() -%}
        {{- run_query('select coalesce(max(' ~ column ~ '), 0) from ' ~ this).columns[0][0] -}}
    {%- else -%}
        0
    {%- endif -%}
{%- endmacro %}

{#-
    Whether an incremental run can build on the table: it exists and has `column` (a table
    built by an earlier release without it is rebuilt from the whole history once, and
    on_schema_change='append_new_columns' adds the column).
-#}
{% macro incremental_with(column) -%}
    {%- if not (execute and is_incremental()) -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set found = run_query(
        "select count(*) from information_schema.columns where table_schema = '"
        ~ this.schema ~ "' and table_name = '" ~ this.identifier ~ "' and column_name = '"
        ~ column ~ "'"
    ).columns[0][0] -%}
    {{- return(found > 0) -}}
{%- endmacro %}
