# riverchief: the GraphQL service, for PostgreSQL. Build with `docker build -t riverchief .`;
# compose.yaml runs it with PostgreSQL. docs/deploy.md describes every setting.

# --- build: the project as a wheel ---------------------------------------------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY ops ./ops
COPY schema ./schema
COPY resolvers ./resolvers
COPY policies ./policies
COPY core ./core
COPY models ./models
COPY demo ./demo
COPY bench ./bench
RUN pip wheel --no-deps --wheel-dir /wheels .

# --- run -----------------------------------------------------------------------------------
FROM python:3.11-slim
# Optional extras of the package, e.g. `docker build --build-arg RIVERCHIEF_EXTRAS=otel .`
ARG RIVERCHIEF_EXTRAS=""
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    RIVERCHIEF_ENV=production \
    RIVERCHIEF_HOST=0.0.0.0 \
    RIVERCHIEF_PORT=8000 \
    RIVERCHIEF_WORKERS=2

COPY --from=build /wheels /wheels
RUN wheel=$(ls /wheels/riverchief-*.whl) \
    && pip install "${wheel}${RIVERCHIEF_EXTRAS:+[$RIVERCHIEF_EXTRAS]}" && rm -rf /wheels \
    && useradd --system --uid 10001 --user-group --create-home \
        --home-dir /srv/riverchief --shell /usr/sbin/nologin riverchief
COPY --chmod=0755 deploy/entrypoint.sh /usr/local/bin/riverchief-entrypoint

USER riverchief
WORKDIR /srv/riverchief
EXPOSE 8000

# /healthz says the process answers; /readyz (the database too) is for the load balancer.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c 'import os, urllib.request as r; r.urlopen("http://127.0.0.1:%s/healthz" % os.environ.get("RIVERCHIEF_PORT", "8000"), timeout=4)' || exit 1

# The entrypoint waits for the database, migrates, then execs `riverchief serve`, so the
# SIGTERM of `docker stop` reaches the server. Arguments run another riverchief command:
#   docker run --rm -i … riverchief create-user admin --password-stdin
ENTRYPOINT ["riverchief-entrypoint"]
