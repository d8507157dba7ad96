"""A function test the way users write one: the handler runs in the real lambdaloop loop on
the built-in emulator (the ``lambda_function`` fixture comes with lambdaloop's pytest plugin)."""


def test_hello(lambda_function):
    fn = lambda_function("examples/hello.handler")
    response = fn.invoke({"rawPath": "/hello", "requestContext": {"http": {"method": "GET"}}})
    assert response["statusCode"] == 200
    assert '"path": "/hello"' in response["body"]
    assert any(line.startswith("REPORT RequestId:") for line in fn.platform_lines)
