"""Times ONNX Runtime, OpenVINO (f32: INFERENCE_PRECISION_HINT=f32) and PyTorch eager on the
same ViT checkpoint (and the int8 of ONNX Runtime's quantize_dynamic and OpenVINO's NNCF), and Pillow + transformers'
ViTImageProcessorPil on the same images, for `cargo xtask bench-peers`. Prints one JSON object.

Usage: bench_peers.py models MODEL_DIR ONNX_PATH INPUT_OUT --batch B --threads T --runs R --warmup W [--size S]
       bench_peers.py int8 ONNX_PATH ONNX_INT8_PATH INPUT --batch B --threads T --runs R --warmup W
       bench_peers.py preprocess IMAGE... --runs R
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np


def timed(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t) * 1e3)
    return {"min_ms": min(ms), "median_ms": statistics.median(ms), "runs": runs, "all_ms": ms}


def export_onnx(model, path, size):
    import torch

    os.makedirs(os.path.dirname(path), exist_ok=True)
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(
        model,
        (dummy,),
        path,
        input_names=["pixel_values"],
        output_names=["last_hidden_state", "pooler_output"],
        dynamic_axes={"pixel_values": {0: "batch"}, "last_hidden_state": {0: "batch"}, "pooler_output": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


def models(args):
    import torch
    from safetensors.numpy import save_file
    from transformers import AutoModel

    torch.set_num_threads(args.threads)
    # ViTModel, Dinov2Model, CLIPVisionModel (of a vision tower with projection: the tower)...
    model = AutoModel.from_pretrained(args.model_dir, attn_implementation="sdpa").eval()
    size = args.size or model.config.image_size
    if not os.path.exists(args.onnx):
        export_onnx(model, args.onnx, size)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, 3, size, size)).astype(np.float32)
    xt = torch.from_numpy(x)
    sess = ort_session(args.onnx, args.threads)
    with torch.inference_mode():
        ref = model(pixel_values=xt).last_hidden_state.numpy()
        torch_t = timed(lambda: model(pixel_values=xt), args.runs, args.warmup)
    ort_out = sess.run(["last_hidden_state"], {"pixel_values": x})[0]
    ort_t = timed(lambda: sess.run(["last_hidden_state"], {"pixel_values": x}), args.runs, args.warmup)
    ov_t, ov_out = openvino_run(args, x)
    save_file({"pixel_values": x, "last_hidden_state": ref}, args.input_out)
    print(json.dumps({
        "torch": torch_t,
        "ort": ort_t,
        "openvino": ov_t,
        "ort_vs_torch_max_abs_diff": float(np.abs(ort_out - ref).max()),
        "openvino_vs_torch_max_abs_diff": float(np.abs(ov_out - ref).max()),
    }))


def ort_session(path, threads):
    """An ONNX Runtime CPU session on `threads` intra-op threads, sequential, every graph
    optimization on: how each ORT row is timed."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def cosines(a, b):
    """Cosine similarity of each image's slice of two [B, ...] arrays."""
    a = a.reshape(a.shape[0], -1).astype(np.float64)
    b = b.reshape(b.shape[0], -1).astype(np.float64)
    return [float(x) for x in (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))]


def int8(args):
    """ONNX Runtime dynamic int8 (quantize_dynamic, s8 weights) on the f32 export, timed on the
    input `models` wrote, with the per-image cosine of last_hidden_state against PyTorch f32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from safetensors.numpy import load_file

    if not os.path.exists(args.onnx_int8):
        quantize_dynamic(args.onnx, args.onnx_int8, weight_type=QuantType.QInt8)
    data = load_file(args.input)
    x, ref = data["pixel_values"], data["last_hidden_state"]
    sess = ort_session(args.onnx_int8, args.threads)
    out = sess.run(["last_hidden_state"], {"pixel_values": x})[0]
    t = timed(lambda: sess.run(["last_hidden_state"], {"pixel_values": x}), args.runs, args.warmup)
    ov_int8 = os.path.splitext(args.onnx_int8)[0] + ".openvino.xml"
    if not os.path.exists(ov_int8):
        openvino_quantize(args.onnx, ov_int8, x.shape[1:])
    ov_t, ov_out = openvino_run(args, x, ov_int8)
    print(json.dumps({
        "ort_int8": t, "ort_int8_cosines": cosines(out, ref),
        "openvino_int8": ov_t, "openvino_int8_cosines": cosines(ov_out, ref),
    }))


def openvino_quantize(onnx, out, chw):
    """OpenVINO int8 the way its docs prescribe for a transformer: NNCF post-training
    quantization (`nncf.quantize`, `ModelType.TRANSFORMER` preset: s8 per-channel weights, u8/s8
    activations with calibrated static scales) of the f32 ONNX export, calibrated on 32 random
    inputs drawn like the benchmark's but with another seed (the timed inputs are not seen)."""
    import nncf
    import openvino as ov

    rng = np.random.default_rng(1)
    calib = [rng.standard_normal((1, *chw)).astype(np.float32) for _ in range(32)]
    model = ov.Core().read_model(onnx)
    quantized = nncf.quantize(
        model,
        nncf.Dataset(calib, lambda a: {"pixel_values": a}),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(calib),
    )
    ov.save_model(quantized, out)


def openvino_run(args, x, path=None):
    """OpenVINO's CPU plugin on the same ONNX file (or the int8 model at `path`), with f32 as
    the precision of what is not quantized (no bf16/f16 inference even where the CPU has it),
    static batch, one stream, the requested threads."""
    import openvino as ov

    core = ov.Core()
    model = core.read_model(path or args.onnx)
    model.reshape({"pixel_values": list(x.shape)})
    compiled = core.compile_model(model, "CPU", {
        "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": args.threads,
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
    })
    request = compiled.create_infer_request()
    out = compiled.output("last_hidden_state")

    def run():
        request.infer({"pixel_values": x})

    run()
    result = np.array(request.get_tensor(out).data)
    return timed(run, args.runs, args.warmup), result


def preprocess(args):
    from PIL import Image
    from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

    proc = ViTImageProcessorPil()
    out = {}
    for path in args.images:
        def run():
            proc(images=Image.open(path), do_convert_rgb=True, return_tensors="np")
        out[os.path.basename(path)] = timed(run, args.runs, 2)
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    m = sub.add_parser("models")
    m.add_argument("model_dir")
    m.add_argument("onnx")
    m.add_argument("input_out")
    m.add_argument("--batch", type=int, default=1)
    m.add_argument("--threads", type=int, default=1)
    m.add_argument("--runs", type=int, default=10)
    m.add_argument("--warmup", type=int, default=2)
    m.add_argument("--size", type=int, default=None, help="input side (default: the config's image_size)")
    q = sub.add_parser("int8")
    q.add_argument("onnx")
    q.add_argument("onnx_int8")
    q.add_argument("input")
    q.add_argument("--batch", type=int, default=1)
    q.add_argument("--threads", type=int, default=1)
    q.add_argument("--runs", type=int, default=10)
    q.add_argument("--warmup", type=int, default=2)
    p = sub.add_parser("preprocess")
    p.add_argument("images", nargs="+")
    p.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    {"models": models, "int8": int8, "preprocess": preprocess}[args.what](args)


if __name__ == "__main__":
    sys.exit(main())
