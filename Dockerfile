# The portolan image: the static binary on an empty base, nothing to pull.
#
# The build context is not the repository but a small directory that
# `make image` assembles in .build/image/:
#
#   portolan             the static binary (bin/portolan, CGO_ENABLED=0)
#   ca-certificates.crt  the build machine's CA bundle
#   run/portolan/        an empty directory, mode 1777 (scratch has no mkdir)
#
#   docker build --pull=false -f Dockerfile -t portolan:dev .build/image
#
# Run the coordinator with `docker run portolan:dev coordinator --listen
# 0.0.0.0:7070 ...`; an app image wraps its process with the agent (see
# examples/newsapi/Dockerfile).
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# The agent writes its placement to /run/portolan/placement.json. The
# directory is writable by any user (sticky, like /tmp), so the agent works
# under `docker run --user`; COPY keeps the mode from the context.
COPY run/ /run/
COPY portolan /portolan
ENTRYPOINT ["/portolan"]
