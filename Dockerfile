# syntax=docker/dockerfile:1
# Build: a static binary, no cgo (OCR runs the tesseract command).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$(git describe --tags --always 2>/dev/null || echo docker)" -o /out/upgradebot ./cmd/upgradebot

# Run: Debian slim with Tesseract for screenshots and CA certificates for
# Slack; the bot runs as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tesseract-ocr tesseract-ocr-eng \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home upgradebot
COPY --from=build /out/upgradebot /usr/local/bin/upgradebot
USER upgradebot
WORKDIR /data
ENV UPGRADEBOT_DATA=/data/upgradebot.db \
    UPGRADEBOT_ADDR=:3000
EXPOSE 3000
# Probes: GET /healthz (liveness) and /readyz (readiness) on port 3000.
ENTRYPOINT ["upgradebot"]
CMD ["run"]
