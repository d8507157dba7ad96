# lambdaloop's base image: what users write FROM, with AWS's contract kept (ENTRYPOINT
# /lambda-entrypoint.sh, CMD = the handler, LAMBDA_TASK_ROOT=/var/task, the RIE inside).
#
#   python layer/build_image.py                # builds BASE from Debian (debootstrap), then this file
#   podman build -f Dockerfile --build-arg BASE=python:3.13-slim-bookworm -t lambdaloop:3.13 .
#
# Any Debian-like image with python3 (3.10+) works as BASE; no registry is needed for the
# default, which layer/build_image.py makes with debootstrap and `podman import`.
#
# Users:
#   FROM lambdaloop:python3.11
#   COPY app.py ${LAMBDA_TASK_ROOT}/
#   CMD ["app.handler"]
ARG BASE=localhost/lambdaloop/debian-python:bookworm

FROM ${BASE} AS build
# Behind a TLS-intercepting proxy: a CA bundle mounted for the build (build_image.py does it
# with the host's), never stored in the image. Empty: the image's own CAs.
ARG PIP_CERT=
# pip (to install the pinned, hash-checked wheels) and binutils (strip) in the build stage only.
RUN if ! python3 -m pip --version >/dev/null 2>&1 || ! command -v strip >/dev/null; then \
        apt-get update && apt-get install -y --no-install-recommends python3-pip binutils \
        && rm -rf /var/lib/apt/lists/*; \
    fi
COPY layer/requirements.txt layer/runtime-files.txt /build/
# The whole package in the build stage (its rie.py fetches the RIE below); of it, /var/runtime
# gets the runtime only: the files layer/runtime-files.txt lists (no emulator, CLI, pytest
# plugin, sample events or RIE downloader in production).
COPY runtime/lambdaloop /build/src/lambdaloop
RUN mkdir -p /var/runtime/lambdaloop \
    && cd /build/src/lambdaloop \
    && grep -v -e '^#' -e '^[[:space:]]*$' /build/runtime-files.txt | xargs cp --parents -t /var/runtime/lambdaloop
# lambdaloop's compiled dependencies next to it in /var/runtime, where AWS keeps awslambdaric;
# bytecode compiled now (the function's file system is read-only) and debug info stripped
# (uvloop's .so is 16 MB with it, 2 MB without).
RUN if [ -n "$PIP_CERT" ]; then export PIP_CERT; else unset PIP_CERT; fi \
    && PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --no-cache-dir --disable-pip-version-check -q \
        --require-hashes -r /build/requirements.txt --only-binary=:all: --no-deps --no-compile \
        --target /var/runtime \
    && rm -rf /var/runtime/bin /var/runtime/*.dist-info/REQUESTED /var/runtime/simplejson/tests \
    && find /var/runtime -name '*.so' -exec strip --strip-debug {} + \
    && find /var/runtime -name '__pycache__' -prune -exec rm -rf {} + \
    && PYTHONHASHSEED=0 python3 -m compileall -q --invalidation-mode unchecked-hash /var/runtime
# The RIE, from the pinned aws-sam-cli wheel on PyPI: wheel and binary sha256-checked by
# lambdaloop.rie (the same code the test suite uses), for this image's architecture.
RUN if [ -n "$PIP_CERT" ]; then export PIP_CERT; else unset PIP_CERT; fi \
    && LAMBDALOOP_CACHE=/build/cache PYTHONPATH=/build/src python3 -m lambdaloop.rie > /build/rie-path \
    && install -m 0755 "$(cat /build/rie-path)" /build/aws-lambda-rie

FROM ${BASE}
ENV LANG=C.UTF-8 \
    TZ=:/etc/localtime \
    PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin \
    LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib \
    LAMBDA_TASK_ROOT=/var/task \
    LAMBDA_RUNTIME_DIR=/var/runtime
COPY --from=build /var/runtime /var/runtime
COPY --from=build /build/aws-lambda-rie /usr/local/bin/aws-lambda-rie
COPY bootstrap /var/runtime/bootstrap.py
COPY layer/image/runtime-bootstrap.sh /var/runtime/bootstrap
COPY layer/image/lambda-entrypoint.sh /lambda-entrypoint.sh
# /var/lang/bin/python3 as in AWS's images (the bootstrap looks there; wrappers get that path);
# everything readable by any uid (Lambda runs images as uid 993, whatever USER says).
RUN mkdir -p /var/lang/bin /var/task /opt \
    && ln -sf "$(readlink -f "$(command -v python3)")" /var/lang/bin/python3 \
    && chmod 0755 /lambda-entrypoint.sh /var/runtime/bootstrap /usr/local/bin/aws-lambda-rie \
    && chmod -R a+rX /var/runtime /var/task \
    && /var/lang/bin/python3 -c 'import sys; assert sys.version_info >= (3, 10), sys.version' \
    && version=$(/var/lang/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
    && sed -i "s/^AWS_EXECUTION_ENV=.*/AWS_EXECUTION_ENV=AWS_Lambda_python$version/" /var/runtime/bootstrap
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
