"""Converter fixtures: random timm ViTs and JAX-layout npz files, with the outputs of the
models they came from (timm's own forward, or transformers' for the JAX case).

Each case folder holds the source checkpoint, `input.safetensors`, `expected.safetensors` and
`case.json` ({"source": file or ".", "from": "timm"|"jax"|"hf", "dtype": ...}).
"""

import argparse
import json
import os
import shutil

import numpy as np
import timm
import torch
from safetensors.torch import save_file
from transformers import ViTConfig, ViTForImageClassification, ViTModel

torch.set_num_threads(2)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if ("norm" in name) and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            elif "cls" in name or "pos" in name:
                p.copy_(0.5 * noise)
            else:
                p.copy_(0.05 * noise)


def case_dir(root, name):
    d = os.path.join(root, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def write_meta(d, meta, pixels, expected):
    save_file({"pixel_values": pixels.contiguous()}, os.path.join(d, "input.safetensors"))
    save_file({k: v.detach().contiguous().float() for k, v in expected.items()}, os.path.join(d, "expected.safetensors"))
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


def timm_case(root, name, arch, num_classes, seed, half=False, **kw):
    d = case_dir(root, name)
    model = timm.create_model(arch, pretrained=False, num_classes=num_classes, img_size=32, depth=1, **kw).eval()
    randomize(model, seed)
    if half:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    sd = {k: (v.half() if half else v).contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(d, "model.safetensors"))
    pcfg = dict(model.pretrained_cfg)
    pcfg["input_size"] = [3, 32, 32]
    cfg = {"architecture": arch, "num_classes": num_classes, "num_features": model.num_features, "global_pool": "token",
           "pretrained_cfg": {k: pcfg[k] for k in ("input_size", "interpolation", "mean", "std", "crop_pct", "crop_mode") if k in pcfg},
           "model_args": {"img_size": 32, "depth": 1, **kw}}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn((2, 3, 32, 32), generator=g)
    with torch.no_grad():
        feats = model.forward_features(x)
        expected = {"last_hidden_state": feats}
        if num_classes:
            expected["logits"] = model.forward_head(feats)
    write_meta(d, {"source": "model.safetensors", "from": "timm", "note": f"timm {arch} shape, depth 1, 32 px"}, x, expected)
    print(f"  {name}: {arch} -> {list(feats.shape)}")


def timm_refused(root, name, arch, **kw):
    d = case_dir(root, name)
    torch.manual_seed(0)
    model = timm.create_model(arch, pretrained=False, img_size=32, depth=1, **kw)
    # Refusal happens on names alone: one value per tensor keeps the file tiny.
    save_file({k: v.flatten()[:1].contiguous() for k, v in model.state_dict().items()}, os.path.join(d, "model.safetensors"))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"architecture": arch, "model_args": kw, "global_pool": kw.get("global_pool", "token")}, f)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump({"source": "model.safetensors", "from": "timm", "refused": True, "note": str(kw)}, f, indent=2)
    print(f"  {name}: refused variant {kw}")


def jax_case(root, name, head, seed):
    d = case_dir(root, name)
    cfg = ViTConfig(hidden_size=48, num_hidden_layers=1, num_attention_heads=3, intermediate_size=64, image_size=16, patch_size=4, layer_norm_eps=1e-6)
    if head:
        cfg.id2label = {str(i): f"LABEL_{i}" for i in range(4)}
        cfg.label2id = {v: int(k) for k, v in cfg.id2label.items()}
        model = ViTForImageClassification(cfg).eval()
        vit = model.vit
    else:
        model = ViTModel(cfg, add_pooling_layer=True).eval()
        vit = model
    randomize(model, seed)
    D, H = cfg.hidden_size, cfg.num_attention_heads
    hd = D // H
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    # Read weights through the module tree (transformers 5 names in memory differ from the file).
    emb = vit.embeddings
    w = {
        "cls": emb.cls_token.detach().numpy(),
        "embedding/kernel": emb.patch_embeddings.projection.weight.detach().numpy().transpose(2, 3, 1, 0),
        "embedding/bias": emb.patch_embeddings.projection.bias.detach().numpy(),
        "Transformer/posembed_input/pos_embedding": emb.position_embeddings.detach().numpy(),
    }
    layers = vit.layers if hasattr(vit, "layers") else vit.encoder.layer
    for i, layer in enumerate(layers):
        b = f"Transformer/encoderblock_{i}/"
        params = dict(layer.named_parameters())
        def get(*cands):
            for c in cands:
                if c in params:
                    return params[c].detach().numpy()
            raise KeyError(f"{cands} not in {list(params)}")
        ln0w = get("layernorm_before.weight")
        w[b + "LayerNorm_0/scale"] = ln0w
        w[b + "LayerNorm_0/bias"] = get("layernorm_before.bias")
        for part, cands in [("query", ("attention.attention.query", "attention.q_proj")), ("key", ("attention.attention.key", "attention.k_proj")), ("value", ("attention.attention.value", "attention.v_proj"))]:
            W = get(*[c + ".weight" for c in cands])
            B = get(*[c + ".bias" for c in cands])
            w[b + f"MultiHeadDotProductAttention_1/{part}/kernel"] = W.T.reshape(D, H, hd)
            w[b + f"MultiHeadDotProductAttention_1/{part}/bias"] = B.reshape(H, hd)
        Wo = get("attention.output.dense.weight", "attention.o_proj.weight")
        w[b + "MultiHeadDotProductAttention_1/out/kernel"] = Wo.T.reshape(H, hd, D)
        w[b + "MultiHeadDotProductAttention_1/out/bias"] = get("attention.output.dense.bias", "attention.o_proj.bias")
        w[b + "LayerNorm_2/scale"] = get("layernorm_after.weight")
        w[b + "LayerNorm_2/bias"] = get("layernorm_after.bias")
        w[b + "MlpBlock_3/Dense_0/kernel"] = get("intermediate.dense.weight", "mlp.fc1.weight").T
        w[b + "MlpBlock_3/Dense_0/bias"] = get("intermediate.dense.bias", "mlp.fc1.bias")
        w[b + "MlpBlock_3/Dense_1/kernel"] = get("output.dense.weight", "mlp.fc2.weight").T
        w[b + "MlpBlock_3/Dense_1/bias"] = get("output.dense.bias", "mlp.fc2.bias")
    w["Transformer/encoder_norm/scale"] = vit.layernorm.weight.detach().numpy()
    w["Transformer/encoder_norm/bias"] = vit.layernorm.bias.detach().numpy()
    if head:
        w["head/kernel"] = model.classifier.weight.detach().numpy().T
        w["head/bias"] = model.classifier.bias.detach().numpy()
    else:
        w["pre_logits/kernel"] = model.pooler.dense.weight.detach().numpy().T
        w["pre_logits/bias"] = model.pooler.dense.bias.detach().numpy()
    np.savez(os.path.join(d, "model.npz"), **{k: np.ascontiguousarray(v, dtype=np.float32) for k, v in w.items()})
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn((2, 3, 16, 16), generator=g)
    with torch.no_grad():
        out = model(pixel_values=x)
        expected = {"last_hidden_state": (vit(pixel_values=x).last_hidden_state if head else out.last_hidden_state)}
        if head:
            expected["logits"] = out.logits
        else:
            expected["pooler_output"] = out.pooler_output
    write_meta(d, {"source": "model.npz", "from": "jax", "note": "JAX layout written from an HF model"}, x, expected)
    print(f"  {name}: jax npz, head={head}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--full-out", required=True)
    ap.add_argument("--full", action="store_true")
    args = ap.parse_args()
    root = os.path.join(args.out, "convert")
    print(f"converter fixtures -> {root}")
    timm_case(root, "timm_tiny_head", "vit_tiny_patch16_224", 5, 1, mlp_ratio=1.0)
    timm_case(root, "timm_tiny_patch8_no_qkv_bias_f16", "vit_tiny_patch16_224", 0, 4, half=True, patch_size=8, qkv_bias=False, mlp_ratio=1.0)
    timm_refused(root, "refuse_layerscale", "vit_tiny_patch16_224", init_values=1e-5)
    timm_refused(root, "refuse_registers", "vit_tiny_patch16_224", reg_tokens=4, no_embed_class=True)
    timm_refused(root, "refuse_avg_pool_fc_norm", "vit_tiny_patch16_224", global_pool="avg", fc_norm=True)
    jax_case(root, "jax_classifier", True, 5)
    jax_case(root, "jax_pre_logits", False, 6)
    if args.full:
        full = os.path.join(args.full_out, "convert")
        print(f"full-size converter fixtures -> {full}")
        timm_case(full, "timm_small_no_head", "vit_small_patch16_224", 0, 2)
        timm_case(full, "timm_base_head", "vit_base_patch16_224", 3, 3)
        timm_case(full, "timm_base_no_head_f16", "vit_base_patch16_224", 0, 7, half=True)


if __name__ == "__main__":
    main()
