# crawlhost: multi-stage build. The plugins directory is a volume: drop new
# .wasm files into it and the running host picks them up (hot swap).
#
#   docker build -t crawlhost .
#   docker run -v $PWD/plugins:/var/lib/crawlhost/plugins -v crawlhost-data:/var/lib/crawlhost/data \
#     -e CRAWLHOST_ADMIN_TOKEN=change-me -p 7878:7878 crawlhost
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN rustup target add wasm32-wasip2 \
 && cargo build -j2 --release -p crawlhost \
 && make plugins

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/crawlhost crawlhost \
 && mkdir -p /var/lib/crawlhost/plugins /var/lib/crawlhost/data /etc/crawlhost /opt/crawlhost/plugins
COPY --from=build /src/target/release/crawlhost /usr/local/bin/crawlhost
# Bundled plugins; copied into the volume on first start if it is empty.
COPY --from=build /src/plugins/*.wasm /opt/crawlhost/plugins/
COPY deploy/crawlhost.docker.toml /etc/crawlhost/crawlhost.toml
COPY deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chown -R crawlhost /var/lib/crawlhost
USER crawlhost
WORKDIR /var/lib/crawlhost
VOLUME ["/var/lib/crawlhost/plugins", "/var/lib/crawlhost/data"]
ENV CRAWLHOST_CONFIG=/etc/crawlhost/crawlhost.toml
EXPOSE 7878
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["serve"]
