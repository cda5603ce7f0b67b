# kspan's container image: a static binary on distroless, run as a non-root user.
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t kspan:0.1.0 .
# Multi-platform with buildx: the binary is cross-compiled on the build platform.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -tags grpcnotrace \
	-ldflags "-s -w -X github.com/kspan-project/kspan/internal/cli.Version=$VERSION" \
	-o /out/kspan ./cmd/kspan

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kspan /kspan
USER 65532:65532
ENTRYPOINT ["/kspan"]
