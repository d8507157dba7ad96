import does_not_exist_xyz  # noqa: F401
