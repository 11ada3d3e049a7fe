# seisreduce container image: built on Debian bookworm (the same libhdf5 1.10 and OpenSSL 3 the
# binary is tested against), run on bookworm-slim as a non-root user.
#
#   docker build -t seisreduce .
#   docker run --rm seisreduce check /etc/seisreduce/pipeline.toml
#
# The runtime stage's packages are the shared libraries the binary links (readelf -d NEEDED);
# tests/deploy.rs checks the list against the binary the tests build.

FROM rust:1-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libhdf5-dev libssl-dev pkg-config cmake zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin seisreduce \
 && install -D -m 0755 target/release/seisreduce /out/seisreduce

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libhdf5-103-1 libssl3 libstdc++6 libgcc-s1 libc6 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 seisreduce \
 && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin seisreduce \
 && mkdir -p /data/seisreduce && chown 10001:10001 /data/seisreduce
COPY --from=build /out/seisreduce /usr/local/bin/seisreduce
USER 10001:10001
WORKDIR /data/seisreduce
EXPOSE 9898
ENTRYPOINT ["seisreduce"]
CMD ["--help"]
