"""An external Lambda extension that forwards the function's logs and its ``platform.report``
metrics, as JSON lines, to a file or a UDP socket. See ../../README.md."""
