#!/bin/sh
# lambdaloop base image entry point: the contract of AWS's /lambda-entrypoint.sh, kept exactly.
# CMD is the handler, one word; anything else exits 142 (AWS's code). _HANDLER is always exported
# (the RIE passes its own environment on). Outside Lambda (no AWS_LAMBDA_RUNTIME_API) the
# bundled Runtime Interface Emulator serves invokes on :8080 and starts the runtime.
if [ $# -ne 1 ]; then
    echo "entrypoint requires the handler name to be the first argument" 1>&2
    exit 142
fi
export _HANDLER="$1"
RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API-}" ]; then
    exec /usr/local/bin/aws-lambda-rie "$RUNTIME_ENTRYPOINT"
else
    exec "$RUNTIME_ENTRYPOINT"
fi
