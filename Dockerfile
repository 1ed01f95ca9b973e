# Builds the one binary; the same image runs `serve`, `api` or `worker`.
FROM rust:1-bookworm AS build
WORKDIR /src
# cmake and nasm build the bundled libjpeg-turbo (the JPEG fast path).
RUN apt-get update && apt-get install -y --no-install-recommends cmake nasm \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked --bin ferrotype

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# ffmpeg extracts the frames of video sources (OSS video/snapshot, Qiniu vframe).
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/ferrotype /usr/local/bin/ferrotype
ENV FERROTYPE_LISTEN=0.0.0.0:8080 FERROTYPE_DATA_DIR=/data
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["ferrotype"]
CMD ["serve"]
