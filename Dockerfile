# Scrapyd with mlentory-crawl installed (used by docker-compose.yml's `scrapyd` service).
FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -e ".[scrapyd]"
ENV CHROMIUM_PATH=/usr/bin/chromium
EXPOSE 6800
CMD ["scrapyd", "--pidfile=", "-d", "/var/lib/scrapyd"]
