# The Warden gateway. Build: docker build -t warden .
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app /app
# The data directory (audit log, approvals, keys); a named volume mounted here inherits the owner.
RUN mkdir -p /var/lib/warden && chown node:node /var/lib/warden
USER node
EXPOSE 15432 13306 15480
ENTRYPOINT ["node", "apps/gateway/dist/main.js"]
CMD ["serve", "--config", "/etc/warden/warden.yaml"]
