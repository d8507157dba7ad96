"""SnapStart in a test: two environments restored from one snapshot, and the emulator's
uniqueness check (nothing that should differ per environment is shared)."""


def test_restored_environments_do_not_share_their_identity(lambda_function):
    fn = lambda_function("examples/snapstart.handler", snapstart=True)
    first = fn.invoke({"sku": "sku-3"})
    fn.new_environment()  # the next invoke restores a new environment from the same snapshot
    second = fn.invoke({"sku": "sku-3"})
    assert first["price"] == second["price"] == 300
    assert first["environment"] != second["environment"]
    assert first["sample"] != second["sample"]
    assert fn.uniqueness_warnings == []
    assert sum(line.startswith("RESTORE_REPORT") for line in fn.platform_lines) == 2
