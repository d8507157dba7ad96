"""`sam local invoke` (the real SAM CLI, aws-sam-cli 1.170.0) answers from lambdaloop's layer.

What a user does: a template with the layer (`AWS::Serverless::LayerVersion`, `ContentUri` the
unzipped layer) and a function using it, then `sam local invoke`. SAM builds its invoke image
`FROM public.ecr.aws/lambda/<runtime>` + its bundled RIE + the layer at /opt, bind-mounts the
function at /var/task and starts the RIE with no command, so the layer's /opt/bootstrap runs
(a layer's /opt/bootstrap comes before the image's /var/runtime/bootstrap).
Slow (LAMBDALOOP_SLOW_TESTS=1 or CI=true): podman, a SAM venv.

Here there is no Docker daemon and no registry, so:
- the engine is podman's Docker-compatible API on a private socket (DOCKER_HOST), over a private
  image store that is deleted afterwards (sam_cli.PodmanEngine);
- AWS's base images are played by look-alikes built from the Debian rootfs layer/build_image.py
  makes (bookworm: Python 3.11), tagged with the names SAM looks for, used with
  `--skip-pull-image`. The python3.11 one has AWS's layout: /var/lang/bin/python3.11, AWS's
  wrapper-aware /var/runtime/bootstrap, and /var/runtime/bootstrap.py starting the real
  awslambdaric (copied from the dev venv when it is Python 3.11, else a stand-in that fails
  loudly). A control function without the layer shows that image answering with awslambdaric,
  so the check "lambdaloop.loop loaded, no awslambdaric" is not vacuous.

Cold (SAM venv to install, Debian base to debootstrap): about 90 s; warm about 30 s.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lambda_sandbox import (
    AWS_BOOTSTRAP_PY,
    AWS_LD_LIBRARY_PATH,
    AWS_PATH,
    ROOT,
    STANDIN_BOOTSTRAP_PY,
    aws_python_bootstrap,
    copy_awslambdaric,
    unavailable,
    write_executable,
)
from procs import unzip
from sam_cli import LOCK_FILE, PodmanEngine, SamUnavailable, ensure_sam, sam_cli_version

HERE = Path(__file__).resolve().parent
SUITE = "bookworm"  # its python3 is 3.11: the managed runtime the look-alike plays is python3.11
PYTHON = "3.11"
DEBIAN_BASE = f"localhost/lambdaloop/debian-python:{SUITE}"

# AWS's image environment (aws-lambda-base-images Dockerfile.python3.x, the same for provided.al2023).
AWS_ENV = f"""ENV LANG=C.UTF-8 \\
    TZ=:/etc/localtime \\
    PATH={AWS_PATH} \\
    LD_LIBRARY_PATH={AWS_LD_LIBRARY_PATH} \\
    LAMBDA_TASK_ROOT=/var/task \\
    LAMBDA_RUNTIME_DIR=/var/runtime
"""

PYTHON_BASE_CONTAINERFILE = f"""FROM {DEBIAN_BASE}
{AWS_ENV}COPY runtime /var/runtime
RUN mkdir -p /var/lang/bin /var/task \\
    && ln -s "$(readlink -f /usr/bin/python3)" /var/lang/bin/python{PYTHON} \\
    && ln -s python{PYTHON} /var/lang/bin/python3 \\
    && chmod -R a+rX /var/runtime
WORKDIR /var/task
"""

# provided.al2023 has no Python (route B needs one from somewhere): this one has Debian's
# /usr/bin/python3 on PATH, as if the user added an interpreter; no /var/lang, no /var/runtime.
PROVIDED_BASE_CONTAINERFILE = f"""FROM {DEBIAN_BASE}
{AWS_ENV}RUN mkdir -p /var/task
WORKDIR /var/task
"""

TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    CodeUri: function/
    Handler: app.handler
    Timeout: 30
    Architectures: [{arch}]
Resources:
  LambdaloopLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
      CompatibleRuntimes: [python{python}, provided.al2023]
  # Route A, configured as README's layer section says (in the cloud the managed runtime runs the
  # wrapper; SAM's RIE runs /opt/bootstrap itself, in bootstrap mode).
  ManagedPython:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python{python}
      Layers: [!Ref LambdaloopLayer]
      Environment:
        Variables:
          AWS_LAMBDA_EXEC_WRAPPER: /opt/bootstrap
  # Route B: provided.al2023 runs /opt/bootstrap.
  Provided:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Layers: [!Ref LambdaloopLayer]
  # The control: no layer, the image's own runtime answers.
  Control:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python{python}
"""


def venv_is(version: str) -> bool:
    return f"{sys.version_info[0]}.{sys.version_info[1]}" == version


def python_base_context(where: Path) -> None:
    """/var/runtime as AWS's python3.11 image has it: bootstrap, bootstrap.py, awslambdaric."""
    runtime = where / "runtime"
    write_executable(runtime / "bootstrap", aws_python_bootstrap(PYTHON))
    if venv_is(PYTHON):
        copy_awslambdaric(Path(sysconfig.get_paths()["purelib"]), runtime)
        (runtime / "bootstrap.py").write_text(AWS_BOOTSTRAP_PY)
    else:
        (runtime / "bootstrap.py").write_text(STANDIN_BOOTSTRAP_PY)
    (where / "Containerfile").write_text(PYTHON_BASE_CONTAINERFILE)


def ensure_debian_base() -> None:
    """The Debian rootfs image, in root's usual store: layer/build_image.py makes and caches it
    there (debootstrap, about 30-60 s once); the image test uses the same one."""
    sys.path.insert(0, str(ROOT / "layer"))
    try:
        import build_image
    finally:
        sys.path.remove(str(ROOT / "layer"))
    if not build_image.image_exists(DEBIAN_BASE):
        build_image.make_base(DEBIAN_BASE, SUITE, build_image.MIRROR)


@pytest.fixture(scope="module")
def sam() -> Path:
    try:
        return ensure_sam()
    except SamUnavailable as exc:
        unavailable(f"SAM CLI {sam_cli_version()} could not be installed: {exc}")


@pytest.fixture(scope="module")
def engine(host_arch: str) -> Iterator[PodmanEngine]:
    """podman's Docker API with the look-alike base images SAM wants, in a private store."""
    need_debootstrap = shutil.which("debootstrap") is None
    missing = [tool for tool in ("podman", "runc") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        unavailable(
            f"needs root and {', '.join(missing) or 'podman'} (apt-get install podman buildah runc debootstrap)"
        )
    # A short path (the API socket lives here), deleted whole afterwards with the private store.
    workdir = Path(tempfile.mkdtemp(prefix="lambdaloop-sam-"))
    podman = PodmanEngine(workdir)
    try:
        try:
            ensure_debian_base()
        except (subprocess.CalledProcessError, OSError) as exc:
            if need_debootstrap:
                unavailable("needs debootstrap to make the Debian base image (apt-get install debootstrap)")
            raise RuntimeError(f"could not make {DEBIAN_BASE}: {exc}") from exc
        podman.load_from_system_store(DEBIAN_BASE)
        python_ctx = workdir / "python-base"
        python_base_context(python_ctx)
        provided_ctx = workdir / "provided-base"
        provided_ctx.mkdir()
        (provided_ctx / "Containerfile").write_text(PROVIDED_BASE_CONTAINERFILE)
        # The names SAM 1.170.0 derives for ZIP functions (samcli/local/docker/lambda_image.py:
        # Runtime.get_image_name_tag, with the architecture suffix these runtimes have).
        for tag, context in (
            (f"public.ecr.aws/lambda/python:{PYTHON}-{host_arch}", python_ctx),
            (f"public.ecr.aws/lambda/provided:al2023-{host_arch}", provided_ctx),
        ):
            podman.podman("build", "-q", "--pull=never", "-t", tag, "-f", str(context / "Containerfile"), str(context))
        podman.start()
        yield podman
    finally:
        podman.close()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def project(engine: PodmanEngine, layer_zip: Path, host_arch: str) -> Path:
    """The SAM project: template.yaml, the unzipped layer (modes kept: bootstrap 0755), the function."""
    where = engine.workdir / "project"
    unzip(layer_zip, where / "layer")
    (where / "function").mkdir(parents=True)
    shutil.copyfile(HERE / "function" / "app.py", where / "function" / "app.py")
    (where / "template.yaml").write_text(TEMPLATE.format(arch=host_arch, python=PYTHON))
    return where


def sam_local_invoke(sam: Path, engine: PodmanEngine, project: Path, function: str, event: object) -> dict[str, object]:
    """`sam local invoke FUNCTION -e EVENT --skip-pull-image`: the function's answer (stdout)."""
    home = engine.workdir / "home"
    config = home / ".aws-sam"
    config.mkdir(parents=True, exist_ok=True)
    # SAM's own settings: no telemetry, and the weekly "newer version on PyPI?" check done as of now.
    (config / "metadata.json").write_text(json.dumps({"telemetryEnabled": False, "lastVersionCheck": time.time()}))
    event_file = project / f"event-{function}.json"
    event_file.write_text(json.dumps(event))
    # A clean environment: no AWS credentials or profile of the host's reach the container.
    tmp = engine.workdir / "sam-tmp"  # SAM leaves its build-lock files in the temp dir
    tmp.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "DOCKER_HOST": engine.docker_host,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",  # no credential probe of 169.254.169.254
    }
    cmd = [
        str(sam), "local", "invoke", function, "--template", "template.yaml", "--event", str(event_file),
        "--skip-pull-image", "--layer-cache-basedir", str(engine.workdir / "layer-cache"),
    ]  # fmt: skip
    result = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=240)
    where = f"\n--- sam stderr ---\n{result.stderr[-6000:]}"
    assert result.returncode == 0, f"sam local invoke {function}: exit {result.returncode}{where}"
    try:
        out = json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"not JSON: {result.stdout!r}{where}") from None
    assert isinstance(out, dict), out
    assert "AWS-RUNTIME-STANDIN" not in result.stderr, where
    out["_stderr"] = result.stderr
    return out


def assert_answered_by_lambdaloop_from_the_layer(out: dict[str, object]) -> None:
    where = out["_stderr"]
    assert out["lambdaloop"] == "/opt/python/lambdaloop/__init__.py", (out, where)
    assert out["lambdaloop_loop_loaded"] is True, where
    assert out["awslambdaric_loaded"] is False, where
    assert out["argv"] == ["/opt/bootstrap"], where  # the RIE found the layer's bootstrap itself
    assert out["handler_env"] == "app.handler"
    assert out["version"] == PYTHON
    assert out["task_writable"] is False  # SAM mounts the function read-only
    deps = out["deps"]
    assert isinstance(deps, dict)
    assert deps["uvloop"] == f"/opt/python/lib/python{PYTHON}/site-packages/uvloop/__init__.py"


@pytest.mark.slow
def test_sam_local_invoke_python_function_answers_from_the_layer(
    sam: Path, engine: PodmanEngine, project: Path
) -> None:
    out = sam_local_invoke(sam, engine, project, "ManagedPython", {"deps": True})
    assert_answered_by_lambdaloop_from_the_layer(out)
    assert out["executable"] == "/var/lang/bin/python3"  # AWS's interpreter path in the image
    site = f"/opt/python/lib/python{PYTHON}/site-packages"
    assert out["sys_path"][:4] == ["/var/task", site, "/opt/python", f"/var/lang/lib/python{PYTHON}/site-packages"]
    # The template's MemorySize reached the runtime through the RIE (read from the answer: the RIE's
    # REPORT line may come after SAM has stopped reading the container's output).
    assert out["memory_limit_in_mb"] == "128"


@pytest.mark.slow
def test_sam_local_invoke_provided_al2023_function_answers_from_the_layer(
    sam: Path, engine: PodmanEngine, project: Path
) -> None:
    out = sam_local_invoke(sam, engine, project, "Provided", {"deps": True})
    assert_answered_by_lambdaloop_from_the_layer(out)
    assert out["executable"] == "/usr/bin/python3"  # python3 from PATH: no /var/lang in this image


@pytest.mark.slow
def test_sam_local_invoke_control_without_the_layer_is_not_lambdaloop(
    sam: Path, engine: PodmanEngine, project: Path
) -> None:
    """The same image and function without the layer: AWS's runtime answers, and the same check
    in the function says so. (With no awslambdaric for the venv's Python, the stand-in fails.)"""
    if not venv_is(PYTHON):
        pytest.skip(f"the dev venv is not Python {PYTHON}: no awslambdaric build for the look-alike image")
    out = sam_local_invoke(sam, engine, project, "Control", {})
    assert out["awslambdaric_loaded"] is True, out["_stderr"]
    assert out["lambdaloop"] is None
    assert out["argv"] != ["/opt/bootstrap"]


def test_the_sam_cli_lock_pins_the_version_the_rie_comes_from() -> None:
    """One aws-sam-cli for both uses: lambdaloop.rie takes the RIE from this wheel."""
    from lambdaloop.rie import WHEEL_SHA256

    text = LOCK_FILE.read_text()
    assert f"\naws-sam-cli=={sam_cli_version()} \\\n" in text
    assert f"--hash=sha256:{WHEEL_SHA256}" in text
