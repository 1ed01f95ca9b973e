# syntax=docker/dockerfile:1
# The one image of docker-compose.yml: `serve`, `api` or `worker` (the command), built once.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# The image has gcc and make; pkg-config, cmake and nasm build the bundled C libraries
# (libjpeg-turbo and its SIMD code, libwebp, aws-lc, libheif), which links the distribution's
# AVIF and HEIC codecs.
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config cmake nasm \
       libaom-dev libdav1d-dev libde265-dev libx265-dev libnuma-dev \
    && rm -rf /var/lib/apt/lists/*
COPY . .
# BuildKit cache mounts keep the crates.io downloads and the compiled dependencies between
# builds (only the workspace's own crates are rebuilt after a change). The target folder is a
# cache, not part of the image, so the binary is copied out of it. The release profile keeps
# line tables for local profiling; the image's binary has no debug info and is stripped.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true \
    cargo build --release --locked --bin ferrotype \
    && install -D target/release/ferrotype /out/ferrotype

FROM debian:bookworm-slim
# The fonts of text watermarks (the same packages scripts/services.sh installs); ffmpeg
# extracts the frames of video sources (OSS video/snapshot, Qiniu vframe); the AVIF and HEIC
# codec libraries libheif was linked with.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates ffmpeg \
       libaom3 libdav1d6 libde265-0 libx265-199 libnuma1 \
       fonts-wqy-zenhei fonts-wqy-microhei fonts-droid-fallback fonts-arphic-uming fonts-arphic-ukai libgs-common \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin ferrotype \
    && install -d -o ferrotype -g ferrotype /data
COPY --from=build /out/ferrotype /usr/local/bin/ferrotype
# A new named volume on /data starts as this folder: owned by the ferrotype user.
USER ferrotype
ENV FERROTYPE_LISTEN=0.0.0.0:8080 FERROTYPE_DATA_DIR=/data
VOLUME /data
# 8080: the API; 9464: a worker-only container's /metrics, /livez and /readyz.
EXPOSE 8080 9464
ENTRYPOINT ["ferrotype"]
CMD ["serve"]
