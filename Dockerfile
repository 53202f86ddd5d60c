# The portolan image: the static binary on an empty base, nothing to pull.
#
# The build context is not the repository but a small directory that
# `make image` assembles in .build/image/:
#
#   portolan               the static binary (bin/portolan, CGO_ENABLED=0)
#   ca-certificates.crt    the build machine's CA bundle
#   run/portolan/          an empty directory, mode 1777 (scratch has no mkdir)
#   var/cache/portolan/    an empty directory, mode 1777
#   coordinator/data/      an empty directory, mode 0700
#
#   docker build --pull=false --build-arg VERSION=$(git describe) -f Dockerfile -t portolan:dev .build/image
#
# Run the coordinator with `docker run -e PORTOLAN_COORDINATOR_LISTEN=0.0.0.0:7070
# portolan:dev coordinator ...`. App images wrap their process with the
# agent build's image instead, portolan-agent (Dockerfile.agent; see
# examples/newsapi/Dockerfile).
FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="portolan" \
      org.opencontainers.image.description="Portable 3scale-style API management: coordinator, container agent and CLI in one static binary" \
      org.opencontainers.image.source="https://github.com/portolan/portolan" \
      org.opencontainers.image.version="${VERSION}"
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# The agent writes its placement to /run/portolan/placement.json and keeps
# its last composition in /var/cache/portolan. Both directories are writable
# by any user (sticky, like /tmp), so the agent works under `docker run
# --user` too; COPY keeps the mode from the context, and the agent's files
# are 0600.
COPY run/ /run/
COPY var/ /var/
# The coordinator's data dir in the compose file: owned by the image's user,
# so that a fresh named volume mounted there (which takes the image's owner
# and mode) is writable. COPY of coordinator/ keeps data/'s 0700.
COPY --chown=65532:65532 coordinator/ /
# The coordinator's default --data-dir (./portolan-data) would be in /, which
# the image's user cannot write.
ENV PORTOLAN_COORDINATOR_DATA_DIR=/data
COPY portolan /portolan
# Not root: a number, as scratch has no /etc/passwd to name a user in.
USER 65532:65532
# This image runs the coordinator (an app image declares its own health
# check, for its agent: see examples/newsapi/Dockerfile). Exec form, no
# shell: `portolan status --coordinator` asks GET /health/ready of the
# coordinator on PORTOLAN_COORDINATOR_LISTEN (the variable the coordinator reads too;
# 127.0.0.1:7070 without it), over HTTPS or plain HTTP as it serves. Give
# --listen through PORTOLAN_COORDINATOR_LISTEN rather than as a flag, or the check
# cannot see it; a coordinator started with --tls-client-ca asks every
# client for a certificate, probes included: run it with --no-healthcheck.
# One-shot commands of the CLI end before the first check.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/portolan", "status", "--quiet", "--coordinator", "--timeout", "4s"]
ENTRYPOINT ["/portolan"]
