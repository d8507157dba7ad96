"""lambdaloop: a fast, drop-in custom runtime for AWS Lambda in Python.

Importing the package costs nothing beyond this file: the runtime loop, the emulator and
the streaming API each load on first use, so a cold start pays only for what it runs.
"""

__version__ = "0.1.0"
