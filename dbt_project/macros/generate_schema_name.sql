{#- Models land in the schema their folder names (staging, core, marts, forms), exactly:
    the warehouse's schemas and their grants are fixed, not prefixed per developer. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
