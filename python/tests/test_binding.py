"""The binding against the CLI and against transformers' committed outputs."""

import json
import multiprocessing
import pickle
from pathlib import Path

import numpy as np
import pytest

import vitrs
from conftest import FIXTURES, SPEC, cli_embed

# The Rust tests' tolerance for embeddings and preprocessing.
EMBED_TOL = 1e-5
PIXEL_TOL = 1e-6


@pytest.fixture(scope="module")
def model():
    return vitrs.Model(SPEC)


def max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def test_embed_paths_equals_the_cli(model, images, cli_reference):
    got = model.embed(images, batch_size=8)
    assert got.dtype == np.float32 and got.shape == cli_reference.shape
    assert max_diff(got, cli_reference) <= EMBED_TOL


def test_embed_bytes_and_arrays_equal_paths(model, images, cli_reference):
    blobs = [open(p, "rb").read() for p in images]
    assert max_diff(model.embed(blobs, batch_size=8), cli_reference) <= EMBED_TOL
    assert max_diff(model.embed([bytearray(b) for b in blobs[:3]], batch_size=8), cli_reference[:3]) <= EMBED_TOL


def test_uint8_array_input_matches_preprocess_of_the_same_pixels(model):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(2, 50, 70, 3), dtype=np.uint8)
    emb = model.embed(rgb)
    px = model.preprocess(rgb)
    assert px.shape == (2, 3, 224, 224)
    direct = model.forward(px)["last_hidden_state"][:, 0]
    assert max_diff(emb, direct) <= EMBED_TOL


def test_pools_normalize_and_errors(model, images, tmp_path):
    for pool in ["mean", "none"]:
        want = cli_embed(tmp_path, images[:4], pool=pool)
        assert max_diff(model.embed(images[:4], pool=pool, batch_size=8), want) <= EMBED_TOL
    unit = model.embed(images[:3], normalize=True)
    assert np.allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-6)
    bad = [images[0], b"not an image", images[1]]
    with pytest.raises(vitrs.ImageError, match="bytes image 1"):
        model.embed(bad)
    assert model.embed(bad, errors="skip").shape == (2, 192)
    nan = model.embed(bad, errors="nan")
    assert nan.shape == (3, 192) and np.isnan(nan[1]).all() and not np.isnan(nan[[0, 2]]).any()
    with pytest.raises(vitrs.FileError, match="missing.png"):
        model.embed([str(FIXTURES / "missing.png")])
    with pytest.raises(OSError):
        model.embed([str(FIXTURES / "missing.png")])
    with pytest.raises(ValueError, match="pooling"):
        model.embed(images[:1], pool="max")


def test_model_errors_are_typed():
    with pytest.raises(vitrs.ModelError, match="unknown architecture"):
        vitrs.Model("random:no-such-vit")
    with pytest.raises(ValueError, match="f32"):
        vitrs.Model(SPEC, dtype="f16")


def test_int8_embeds_as_the_cli(images, cli_reference, tmp_path):
    # dtype="int8" is the CLI's --dtype int8 (same kernels, same quantization), with the
    # weights private or shared (every layer, int8 ones included, goes into the shared file).
    want = cli_embed(tmp_path, images, dtype="int8")
    private = vitrs.Model(SPEC, dtype="int8")
    shared = vitrs.Model(SPEC, dtype="int8", share_weights=tmp_path / "weights")
    assert private.dtype == "int8" and shared.shared_weights is not None
    for m in [private, shared]:
        got = m.embed(images, batch_size=8)
        assert got.shape == want.shape and max_diff(got, want) <= EMBED_TOL
    assert max_diff(want, cli_reference) > 0  # int8 was really used


def test_jpeg_draft_is_the_clis_and_pickles(tmp_path):
    # A 1000x900 JPEG: jpeg_draft decodes it at half size for a 224 input (not exact).
    large = str(Path(__file__).parent / "data" / "large.jpg")
    exact, draft = vitrs.Model(SPEC), vitrs.Model(SPEC, jpeg_draft=True)
    assert draft.jpeg_draft and not exact.jpeg_draft
    want = cli_embed(tmp_path, [large], flags=("--jpeg-draft",))
    got = draft.embed([large])
    assert got.shape == want.shape and max_diff(got, want) <= EMBED_TOL
    assert max_diff(exact.embed([large]), got) > 0  # draft decoding was really used
    assert pickle.loads(pickle.dumps(draft)).jpeg_draft


def test_the_api_has_docstrings():
    # help() in a notebook shows these (the .pyi stubs serve editors and type checkers).
    for f in [vitrs.Model, vitrs.Model.embed, vitrs.Model.forward, vitrs.Model.classify,
              vitrs.Model.preprocess, vitrs.preprocess, vitrs.pool_threads]:
        assert f.__doc__ and len(f.__doc__.strip()) > 20, f


def test_forward_and_preprocess_match_transformers():
    # transformers' pixel_values of chelsea.png with the Hub's default processor (its
    # default backend, torchvision's, as vitrs's).
    case = FIXTURES / "preprocess" / "tv_hub_default_224"
    want = load_safetensors(case / "expected.safetensors")["pixel_values"]
    got = vitrs.preprocess([str(FIXTURES / "images" / "chelsea.png")], model=str(case))
    assert got.shape == want.shape and max_diff(got, want) <= PIXEL_TOL
    # transformers' outputs of a committed classifier checkpoint.
    case = FIXTURES / "models" / "classifier"
    tol = json.loads((case / "case.json").read_text())["tolerance"]
    m = vitrs.Model(str(case))
    pixels = load_safetensors(case / "input.safetensors")["pixel_values"]
    out = m.forward(pixels)
    for name, want in load_safetensors(case / "expected.safetensors").items():
        assert out[name].shape == want.shape, name
        assert max_diff(out[name], want) <= tol, name


def test_classify_ranks_the_logits(model, images):
    # random:deit-tiny-patch16-224 is a 1000-class classifier.
    top = model.classify(images[:2], top_k=3)
    logits = model.forward(model.preprocess(images[:2]))["logits"]
    assert len(top) == 2 and all(len(t) == 3 for t in top)
    for ranked, row in zip(top, logits):
        assert [p["index"] for p in ranked] == list(np.argsort(-row, kind="stable")[:3])
        assert ranked[0]["probability"] >= ranked[1]["probability"]
        assert ranked[0]["label"] == model.labels[ranked[0]["index"]]
        assert max_diff([p["logit"] for p in ranked], row[[p["index"] for p in ranked]]) == 0


def test_pickles_as_its_spec(model, images, cli_reference):
    again = pickle.loads(pickle.dumps(model))
    assert again.spec == SPEC
    assert max_diff(again.embed(images[:2]), cli_reference[:2]) <= EMBED_TOL


def test_shared_weights_embed_as_private_ones(images, cli_reference, tmp_path):
    # Two models of the same weights: the first writes the shared file, the second maps it.
    first = vitrs.Model(SPEC, share_weights=tmp_path)
    assert first.shared_weights is not None
    shared = Path(first.shared_weights)
    assert shared.parent == tmp_path and shared.is_file()
    second = vitrs.Model(SPEC, share_weights=str(tmp_path))
    assert Path(second.shared_weights) == shared
    assert [p.name for p in tmp_path.iterdir()] == [shared.name]  # no temporary file left
    for m in [first, second, pickle.loads(pickle.dumps(second))]:
        assert max_diff(m.embed(images[:4], batch_size=8), cli_reference[:4]) <= EMBED_TOL
    assert vitrs.Model(SPEC, share_weights=False).shared_weights is None
    with pytest.raises(ValueError, match="share_weights"):
        vitrs.Model(SPEC, share_weights=3)


_INHERITED = {}


def _child(queue, images):
    # The model the parent used, inherited through fork, with the parent's worker pool.
    queue.put(_INHERITED["model"].embed(images))


def test_a_forked_child_does_not_hang(model, images, cli_reference):
    model.embed(images[:2])  # the parent's worker pool is running
    _INHERITED["model"] = model
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue, images[:2]))
    child.start()
    child.join(timeout=120)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung")
    assert child.exitcode == 0
    assert max_diff(queue.get(timeout=5), cli_reference[:2]) <= EMBED_TOL


def load_safetensors(path):
    """A tiny safetensors reader (f32 only): no torch or safetensors package in CI."""
    raw = open(path, "rb").read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a : 8 + n + b], dtype="<f4").reshape(info["shape"])
    return out
