"""Loaded through LAMBDALOOP_EXTENSIONS: fails at import, which must fail init."""

raise RuntimeError("this extension module is broken on purpose")
