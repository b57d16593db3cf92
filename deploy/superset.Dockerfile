# syntax=docker/dockerfile:1
# The Superset image: Superset 6.1 from requirements/superset.lock only (the same versions as the
# local .venv-superset; it cannot share the pipeline's environment because of SQLAlchemy), plus
# the project's settings module and the dashboards-as-code folder superset/.
# Build from the checkout: docker compose build (or: docker build -f deploy/superset.Dockerfile .)
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.8
ENV UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1
RUN python -m pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"
WORKDIR /opt/kontingent
RUN uv venv --python /usr/local/bin/python3.11 /opt/venv
COPY requirements/superset.lock requirements/superset.lock
RUN uv pip sync --python /opt/venv/bin/python requirements/superset.lock
# the project (what .dockerignore lets through, superset/ included) without dependencies, so
# that superset_config.py can read kontingent.settings (standard library only by design)
COPY . .
RUN uv pip install --python /opt/venv/bin/python --no-deps -e .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="kontingent-superset" \
      org.opencontainers.image.description="Kontingent: Superset dashboards" \
      org.opencontainers.image.licenses="Apache-2.0"
ARG APP_UID=50001
RUN groupadd --system --gid "${APP_UID}" superset \
    && useradd --system --uid "${APP_UID}" --gid superset --home-dir /var/lib/superset \
       --create-home --shell /usr/sbin/nologin superset
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/kontingent /opt/kontingent
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    SUPERSET_HOME=/var/lib/superset \
    SUPERSET_CONFIG_PATH=/opt/kontingent/superset/superset_config.py
# not the checkout: a folder named superset/ next to the working directory must never shadow the
# superset package
WORKDIR /var/lib/superset
USER superset
EXPOSE 8088
CMD ["gunicorn", "--bind=0.0.0.0:8088", "--workers=4", "--worker-class=gthread", "--threads=4", "--timeout=120", "superset.app:create_app()"]
