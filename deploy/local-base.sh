#!/usr/bin/env bash
# A Python 3.11 base image made on this machine, for building the service's image where no
# registry with base images can be reached (only Debian's package mirror): debootstrap a
# minimal Debian bookworm with python3 and venv, trust this machine's CA certificates (pip
# inside the build goes through the same network), and import it into Docker.
#   deploy/local-base.sh            then
#   docker build --network host --build-arg PYTHON_IMAGE=postback-base:bookworm -t postback:local .
set -euo pipefail
IMAGE=${1:-postback-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE exists"
  exit 0
fi
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,python-is-python3,ca-certificates \
  bookworm "$root" "$MIRROR"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["python3"]' - "$IMAGE"
echo "imported $IMAGE"
