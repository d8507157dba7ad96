import missing_transitive_dependency_xyz  # noqa: F401
