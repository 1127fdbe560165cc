# Scrapyd for mlentory-crawl (docker-compose.yml's `scrapyd` service).
# The image holds the dependencies only: the project's code is deployed as an egg with
# `scrapyd-deploy` (docs/scrapyd.md). An installed copy of the package would shadow every
# deployed egg, since Scrapyd appends the egg to the end of sys.path.
FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir ".[scrapyd]" && pip uninstall -y mlentory-crawl
COPY scrapyd.conf /etc/scrapyd/scrapyd.conf
ENV CHROMIUM_PATH=/usr/bin/chromium
# The state directory (eggs, dbs, logs, jobs): scrapyd.conf's *_dir are relative to the working
# directory. Not `scrapyd -d`: Scrapyd 1.6 opens its databases before twistd changes directory.
WORKDIR /var/lib/scrapyd
EXPOSE 6800
CMD ["sh", "-c", "if [ -z \"$SCRAPYD_USERNAME\" ] || [ -z \"$SCRAPYD_PASSWORD\" ]; then echo 'set SCRAPYD_USERNAME and SCRAPYD_PASSWORD' >&2; exit 64; fi; exec scrapyd --pidfile="]
