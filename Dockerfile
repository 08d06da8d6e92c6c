# syntax=docker/dockerfile:1
# cilium-guard: build with dev dependencies, ship only the bundle (scripts/bundle.mjs: the CLI and the
# production dependencies it uses, in one module and its lazily loaded chunks, with their licence
# notices) on a distroless Node.js 24 LTS runtime (no shell, no package manager) as a non-root
# numeric user.
# CI runs the test suite on Node 24 as well (.ci/run), the runtime this image ships.

# The defaults are the real bases. Where no image registry is reachable, `npm run image`
# (scripts/image.sh) assembles local stand-ins and passes them here; nothing else changes.
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY scripts/bundle.mjs ./scripts/bundle.mjs
COPY LICENSE ./
RUN npm run build --silent \
 && find dist/bundle -name '*.map' -delete

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="cilium-guard" \
      org.opencontainers.image.description="Admission webhook that keeps a Talos cluster's Cilium safe while Argo CD manages it" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=65532:65532 /src/dist/bundle ./
USER 65532:65532
EXPOSE 8443 9090
# For plain container runtimes only: Kubernetes uses the chart's probes, never this.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/nodejs/bin/node", "/app/cilium-guard.mjs", "healthcheck"]
# V8 flags: bench/flags.ts says why.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "--heap-growing-percent=60", "/app/cilium-guard.mjs"]
CMD ["serve"]
