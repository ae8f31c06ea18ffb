# The relaybench image: built in a Rust image, run from a distroless one as a non-root
# user. `relaybench k8s render` writes the manifests that run it; docs/distributed.md has
# the commands.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
    && strip target/release/relaybench

FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="relaybench" \
      org.opencontainers.image.description="Load and conformance tests for the Anthropic Messages API" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /src/target/release/relaybench /usr/local/bin/relaybench
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/relaybench"]
