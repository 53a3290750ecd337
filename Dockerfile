# The engine image: one image for both roles (ROLE=api | worker | all), run from source with tsx.
# Node 22 LTS: Node 20 left maintenance in April 2026, and some dependencies (cookie,
# content-disposition) already declare Node 22 in their engines.
FROM node:22-bookworm-slim

# Chromium comes from Debian, never downloaded at run time (docs/design.md §4); fonts so pages render.
RUN apt-get update \
  && apt-get install -y --no-install-recommends chromium fonts-liberation ca-certificates \
  && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    CHROMIUM_PATH=/usr/bin/chromium \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

WORKDIR /app
# Dependencies first, so a source change does not reinstall them. Dev tools (tsc, vitest,
# drizzle-kit) are not needed to run: migrations are applied by drizzle-orm at start-up.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .
# Without ENCRYPTION_KEY the engine generates its key into data/encryption.key on first start: the
# compose file mounts a volume here so the key outlives the container (back it up with the database).
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000

# Node itself is PID 1's child of nothing: `node --import tsx` (what `npm start` runs) without npm,
# because npm does not forward SIGTERM, and the tsx CLI force-kills a child that is slow to
# acknowledge one; `docker stop` must reach the engine so it drains its jobs.
CMD ["node", "--import", "tsx", "src/server.ts"]
