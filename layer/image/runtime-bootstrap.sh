#!/bin/sh
# /var/runtime/bootstrap of lambdaloop's base image: what it is in AWS's python images (honour
# AWS_LAMBDA_EXEC_WRAPPER with AWS's messages and exit codes, hand the wrapper the interpreter and
# the runtime's script), with lambdaloop's bootstrap as that script.
# AWS_EXECUTION_ENV as AWS's python3.X images set it here (the image build writes the version in;
# a managed python runtime on Lambda has the same value). Libraries read it: awslambdaric's JSON
# escaping, boto3's user agent.
AWS_EXECUTION_ENV=AWS_Lambda_python3
export AWS_EXECUTION_ENV
if [ -z "${AWS_LAMBDA_EXEC_WRAPPER-}" ]; then
    exec /var/lang/bin/python3 /var/runtime/bootstrap.py
fi
wrapper=$AWS_LAMBDA_EXEC_WRAPPER
if [ ! -f "$wrapper" ]; then
    echo "$wrapper: does not exist"
    exit 127
fi
if [ ! -x "$wrapper" ]; then
    echo "$wrapper: is not an executable"
    exit 126
fi
# (no `exec --`: dash, Debian's /bin/sh, takes `--` for the command)
exec "$wrapper" /var/lang/bin/python3 /var/runtime/bootstrap.py
