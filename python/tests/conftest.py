import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
# A small random-weight architecture keeps the tests quick; the CLI is the reference.
SPEC = "random:deit-tiny-patch16-224"


def fixture_images():
    """The committed test images (18), each once."""
    dirs = [FIXTURES / "images", FIXTURES / "preprocess" / "images"]
    return sorted(str(p) for d in dirs for p in d.iterdir() if p.suffix != ".md")


def cli():
    """The `vitrs` binary built by cargo (VITRS_CLI, else target/debug or target/release)."""
    if os.environ.get("VITRS_CLI"):
        return os.environ["VITRS_CLI"]
    for profile in ["debug", "release"]:
        p = ROOT / "target" / profile / "vitrs"
        if p.exists():
            return str(p)
    pytest.skip("no vitrs binary: cargo build -p vitrs")


def cli_embed(tmp_path, images, spec=SPEC, pool="cls", batch=8, dtype="f32", flags=()):
    out = tmp_path / f"cli-{pool}-{dtype}{''.join(flags)}.npy"
    subprocess.run(
        [cli(), "embed", *images, "--model", spec, "--pool", pool, "--batch", str(batch),
         "--dtype", dtype, *flags, "-o", str(out)],
        check=True,
        capture_output=True,
    )
    return np.load(out)


@pytest.fixture(scope="session")
def images():
    return fixture_images()


@pytest.fixture(scope="session")
def cli_reference(tmp_path_factory, images):
    """The CLI's embeddings of the fixture images: what every route must reproduce."""
    return cli_embed(tmp_path_factory.mktemp("cli"), images)
