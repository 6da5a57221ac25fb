#!/bin/sh
# Regenerate the pinned locks of the hub and user images from their requirements.in.
# Compiled for CPython 3.11.2 on manylinux x86_64: the oldest 3.11 we support (Debian 12's system Python, into which
# the tests install the user lock), so the lock installs on every later 3.11 too, the images' included. Constrained
# by .ci/constraints.txt so that every package shared with the CI environment has the same version in the images
# (tests/helm checks this). Overridden as the CI environment is (.ci/overrides.txt: packages left out).
set -eu
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
for image in hub user; do
    "$UV" pip compile "images/$image/requirements.in" \
        --constraint .ci/constraints.txt --override .ci/overrides.txt \
        --python-version 3.11.2 --python-platform x86_64-manylinux_2_28 \
        --custom-compile-command "images/lock.sh" \
        --quiet --output-file "images/$image/requirements.lock"
done
