# syntax=docker/dockerfile:1
#
# graftrain images. Build arguments:
#   VARIANT              cpu (default) or gpu (CUDA 12.5 / cuDNN 9, as TensorFlow 2.18 is built for)
#   LIBTENSORFLOW_SHA256 SHA-256 of the libtensorflow tarball when it is not
#                        pinned in scripts/libtensorflow.sha256
# Targets:
#   runtime (default)    slim training image, entrypoint graftrain, non-root
#   exporter             Python TensorFlow 2.18 with graftrain-export
#   dev                  both, plus Go and the source: runs scripts/smoke.sh
#
#   docker build -t graftrain .
#   docker build --build-arg VARIANT=gpu -t graftrain:gpu .
#   docker build --target exporter -t graftrain-export .
#   docker build --target dev -t graftrain-dev . && docker run --rm graftrain-dev scripts/smoke.sh

ARG VARIANT=cpu
ARG TF_VERSION=2.18.0
ARG GO_VERSION=1.26

# The TensorFlow C library, checksum verified by the install script.
FROM debian:bookworm-slim AS libtensorflow
ARG VARIANT
ARG TF_VERSION
ARG LIBTENSORFLOW_SHA256=""
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/install-libtensorflow.sh scripts/libtensorflow.sha256 /tmp/tf/
RUN LIBTENSORFLOW_SHA256="${LIBTENSORFLOW_SHA256}" /tmp/tf/install-libtensorflow.sh \
      --variant "${VARIANT}" --version "${TF_VERSION}" --prefix /opt/libtensorflow

FROM golang:${GO_VERSION}-bookworm AS go

# Runtime bases: the GPU one is a CUDA/cuDNN runtime TensorFlow 2.18 supports.
FROM debian:bookworm-slim AS base-cpu
FROM nvidia/cuda:12.5.1-cudnn-runtime-ubuntu22.04 AS base-gpu

FROM base-${VARIANT} AS base
# libjpeg-turbo's runtime package is libturbojpeg0 on Debian, libturbojpeg on Ubuntu.
RUN apt-get update \
 && (apt-get install -y --no-install-recommends ca-certificates libturbojpeg0 \
     || apt-get install -y --no-install-recommends ca-certificates libturbojpeg) \
 && rm -rf /var/lib/apt/lists/*
COPY --from=libtensorflow /opt/libtensorflow/lib/ /usr/local/lib/
RUN ldconfig

# Build on the runtime base so the binary links against the same C library.
FROM base AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libturbojpeg0-dev \
 && rm -rf /var/lib/apt/lists/*
COPY --from=go /usr/local/go /usr/local/go
COPY --from=libtensorflow /opt/libtensorflow/include/ /usr/local/include/
ENV PATH=/usr/local/go/bin:$PATH CGO_ENABLED=1
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -tags tensorflow -trimpath -o /out/graftrain ./cmd/graftrain \
 && /out/graftrain version

# Python TensorFlow for the exporter.
FROM tensorflow/tensorflow:${TF_VERSION} AS tfpy-cpu
FROM tensorflow/tensorflow:${TF_VERSION}-gpu AS tfpy-gpu

FROM tfpy-${VARIANT} AS exporter
ARG TF_VERSION
COPY graphs/python /opt/graftrain-export
RUN pip install --no-cache-dir "tf_keras~=${TF_VERSION%.*}.0" /opt/graftrain-export \
 && useradd --system --create-home --uid 10001 graftrain \
 && mkdir -p /models && chown graftrain /models
USER graftrain
WORKDIR /models
VOLUME ["/models"]
ENTRYPOINT ["graftrain-export"]
CMD ["--help"]

# Everything at once, for the full-system test (scripts/smoke.sh).
FROM exporter AS dev
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libturbojpeg0-dev \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir pytest
COPY --from=go /usr/local/go /usr/local/go
COPY --from=libtensorflow /opt/libtensorflow/lib/ /usr/local/lib/
COPY --from=libtensorflow /opt/libtensorflow/include/ /usr/local/include/
RUN ldconfig
ENV PATH=/usr/local/go/bin:/root/go/bin:$PATH CGO_ENABLED=1
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -tags tensorflow -o /usr/local/bin/graftrain ./cmd/graftrain
ENTRYPOINT []
CMD ["scripts/smoke.sh"]

# The training image (default target).
FROM base AS runtime
RUN useradd --system --create-home --uid 10001 graftrain \
 && mkdir -p /data /models /runs \
 && chown graftrain /data /models /runs
COPY --from=build /out/graftrain /usr/local/bin/graftrain
COPY examples /opt/graftrain/examples
USER graftrain
WORKDIR /runs
VOLUME ["/data", "/models", "/runs"]
ENTRYPOINT ["graftrain"]
CMD ["version"]
