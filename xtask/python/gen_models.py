"""Model fixtures: seeded random ViTs and what transformers computes from them.

Each case is a folder holding a checkpoint as `save_pretrained` writes it, `input.safetensors`
(`pixel_values` [B, C, H, W] f32), `expected.safetensors` (transformers' f32 outputs) and
`case.json` (how to run it). Small cases go to <out>/models (committed); with --full the
full-size ones go to <full-out>/models (ignored by git).
"""

import argparse
import json
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import ViTConfig, ViTForImageClassification, ViTModel

torch.set_num_threads(2)

# A small ViT: D 64, one head of 64, 16x16 images in 4x4 patches (17 tokens), one layer.
SMALL = dict(
    hidden_size=64,
    num_hidden_layers=1,
    num_attention_heads=1,
    intermediate_size=64,
    image_size=16,
    patch_size=4,
)
TWO = dict(SMALL, num_hidden_layers=2)


def randomize(model, seed, scale):
    """Every parameter random (HF's init leaves biases 0 and LayerNorm 1, which hides bugs)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            elif "cls_token" in name or "position" in name or "mask_token" in name:
                p.copy_(0.5 * noise)
            else:
                p.copy_(scale * noise)


def make_case(
    root,
    name,
    config,
    *,
    head="pooler",
    batch=1,
    size=None,
    interpolate=False,
    dtype=None,
    shard=None,
    extras=False,
    seed=0,
    scale=0.1,
    model_dir=None,
    model=None,
    note="",
):
    case = os.path.join(root, name)
    shutil.rmtree(case, ignore_errors=True)
    os.makedirs(case)
    if model is None:
        cfg = ViTConfig(**config)
        if extras:
            cfg._attn_implementation = "eager"
        if head == "classifier":
            model = ViTForImageClassification(cfg)
        else:
            model = ViTModel(cfg, add_pooling_layer=(head == "pooler"))
        randomize(model, seed, scale)
        if dtype is not None:
            # The file holds rounded weights; the reference runs them in f32, as vitrs does.
            with torch.no_grad():
                for p in model.parameters():
                    p.copy_(p.to(dtype).to(torch.float32))
        model.eval()
        save = model.to(dtype) if dtype is not None else model
        save.save_pretrained(case, max_shard_size=shard or "10GB")
        model = model.to(torch.float32)
    cfg = model.config
    c = cfg.num_channels
    hw = size or (
        cfg.image_size if isinstance(cfg.image_size, (list, tuple)) else [cfg.image_size] * 2
    )
    g = torch.Generator().manual_seed(seed + 1000)
    pixels = torch.randn((batch, c, hw[0], hw[1]), generator=g)
    with torch.no_grad():
        out = model(
            pixel_values=pixels,
            interpolate_pos_encoding=interpolate,
            output_hidden_states=extras,
            output_attentions=extras,
        )
    expected = {}
    base = out if head != "classifier" else None
    if head == "classifier":
        expected["logits"] = out.logits
        # The classifier's view of the tokens: run the backbone alone for last_hidden_state.
        with torch.no_grad():
            base = model.vit(pixel_values=pixels, interpolate_pos_encoding=interpolate)
    expected["last_hidden_state"] = base.last_hidden_state
    if head == "pooler":
        expected["pooler_output"] = out.pooler_output
    if extras:
        for i, h in enumerate(out.hidden_states):
            expected[f"hidden_states.{i}"] = h
        for i, a in enumerate(out.attentions):
            expected[f"attentions.{i}"] = a
    save_file({"pixel_values": pixels.contiguous()}, os.path.join(case, "input.safetensors"))
    save_file(
        {k: v.detach().contiguous().float() for k, v in expected.items()},
        os.path.join(case, "expected.safetensors"),
    )
    meta = {
        "interpolate_pos_encoding": interpolate,
        "output_hidden_states": extras,
        "output_attentions": extras,
        "tolerance": 5e-5,
        "note": note,
    }
    if model_dir:
        meta["model_dir"] = model_dir
    with open(os.path.join(case, "case.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"  {name}: " + ", ".join(f"{k} {list(v.shape)}" for k, v in expected.items() if "." not in k))
    return model


def small_cases(root):
    s = SMALL
    make_case(root, "pooler", TWO, batch=2, note="ViTModel with pooler (tanh), head_dim 64")
    make_case(root, "no_pooler", s, head="none", note="ViTModel without pooler (DINO-like)")
    make_case(
        root,
        "classifier",
        {**s, "id2label": {str(i): f"class {i}" for i in range(5)}, "label2id": {f"class {i}": i for i in range(5)}},
        head="classifier",
        batch=3,
        note="ViTForImageClassification, 5 labels",
    )
    make_case(root, "nonsquare", {**s, "image_size": [16, 24]}, note="image_size [16, 24]")
    make_case(
        root,
        "patch32",
        {**s, "hidden_size": 16, "intermediate_size": 32, "image_size": 64, "patch_size": 32},
        note="patch 32 (4 patches)",
    )
    make_case(
        root,
        "head_dim_24",
        {**s, "hidden_size": 48, "num_attention_heads": 2, "intermediate_size": 96},
        note="2 heads of 24",
    )
    make_case(
        root,
        "head_dim_80",
        {**s, "hidden_size": 80, "num_attention_heads": 1, "intermediate_size": 32},
        note="a head of 80 (ViT-H head size)",
    )
    make_case(root, "qkv_bias_false", {**s, "qkv_bias": False}, note="qkv_bias false")
    make_case(root, "eps_1e-6", {**s, "layer_norm_eps": 1e-6}, note="layer_norm_eps 1e-6 (timm/JAX)")
    make_case(
        root,
        "pooler_size_40_relu",
        {**s, "pooler_output_size": 40, "pooler_act": "relu"},
        note="pooler_output_size 40, pooler_act relu",
    )
    for act in ["gelu_new", "gelu_pytorch_tanh", "gelu_fast", "quick_gelu", "relu", "silu", "swish"]:
        make_case(
            root,
            f"act_{act}",
            {**s, "hidden_act": act},
            scale=0.3,
            note=f"hidden_act {act}",
        )
    make_case(root, "f16", s, dtype=torch.float16, note="weights stored F16")
    make_case(root, "bf16", s, dtype=torch.bfloat16, note="weights stored BF16")
    make_case(root, "batch4", TWO, batch=4, note="batch of 4")
    make_case(root, "interp_square", s, size=[24, 24], interpolate=True, batch=2, note="16 -> 24x24 via interpolate_pos_encoding")
    make_case(root, "interp_nonsquare", s, size=[20, 28], interpolate=True, note="16 -> 20x28 via interpolate_pos_encoding")
    make_case(root, "interp_smaller", s, size=[12, 12], interpolate=True, note="16 -> 12x12 (downscaled table)")
    make_case(root, "sharded", TWO, shard="40KB", note="sharded with model.safetensors.index.json")
    make_case(root, "hidden_and_attentions", {**TWO, "num_attention_heads": 2}, batch=2, extras=True, note="output_hidden_states and output_attentions")


def full_cases(root):
    base = dict()  # transformers' defaults: ViT-B/16 at 224
    model = make_case(root, "vit_b16_224", base, scale=0.02, note="ViT-B/16 at 224 with pooler (in21k shape)")
    make_case(
        root,
        "vit_b16_384_interp",
        base,
        model=model,
        size=[384, 384],
        interpolate=True,
        model_dir="../vit_b16_224",
        note="the ViT-B/16 above at 384 via interpolate_pos_encoding",
    )
    make_case(
        root,
        "vit_h14_2layer",
        dict(hidden_size=1280, num_hidden_layers=2, num_attention_heads=16, intermediate_size=5120, patch_size=14),
        scale=0.02,
        note="ViT-H/14 shape (head_dim 80, 257 tokens), 2 layers",
    )


# --- Other families: DINOv2 (+registers), CLIP and SigLIP vision towers, DeiT -------------------

# A tiny tower: D 16, two heads of 8, 16x16 images in 4x4 patches, one layer (about 15 KB a case).
TINY = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, image_size=16, patch_size=4)


def randomize_family(model, seed, scale=0.2):
    """As `randomize`, plus the tokens and scales other families add (LayerScale around 1)."""
    g = torch.Generator().manual_seed(seed)
    tokens = ("cls_token", "class_embedding", "position", "mask_token", "register_tokens", "distillation_token", "probe")
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif "lambda" in name:
                p.copy_(1.0 + 0.3 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            elif any(t in name for t in tokens):
                p.copy_(0.5 * noise)
            else:
                p.copy_(scale * noise)


def family_case(root, name, model, run, *, batch=1, size=None, interpolate=False, dtype=None, seed=0, scale=0.2, note=""):
    """Saves `model` (random, eval) and `run(model, pixels, interpolate)`'s outputs as a case."""
    case = os.path.join(root, name)
    shutil.rmtree(case, ignore_errors=True)
    os.makedirs(case)
    randomize_family(model, seed, scale)
    if dtype is not None:
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(dtype).to(torch.float32))
    model.eval()
    (model.to(dtype) if dtype is not None else model).save_pretrained(case)
    model = model.to(torch.float32)
    vision = getattr(model.config, "vision_config", model.config)
    c = vision.num_channels
    hw = size or [vision.image_size] * 2
    g = torch.Generator().manual_seed(seed + 1000)
    pixels = torch.randn((batch, c, hw[0], hw[1]), generator=g)
    with torch.no_grad():
        expected = run(model, pixels, interpolate)
    save_file({"pixel_values": pixels.contiguous()}, os.path.join(case, "input.safetensors"))
    save_file(
        {k: v.detach().float().clone().contiguous() for k, v in expected.items()},
        os.path.join(case, "expected.safetensors"),
    )
    meta = {
        "interpolate_pos_encoding": interpolate,
        "output_hidden_states": False,
        "output_attentions": False,
        "tolerance": 5e-5,
        "note": note,
    }
    with open(os.path.join(case, "case.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"  {name}: " + ", ".join(f"{k} {list(v.shape)}" for k, v in expected.items()))


def run_base(model, pixels, interpolate):
    """last_hidden_state and pooler_output of a *Model (DINOv2 resizes without a flag)."""
    kw = {} if "dinov2" in model.config.model_type else {"interpolate_pos_encoding": interpolate}
    out = model(pixel_values=pixels, **kw)
    got = {"last_hidden_state": out.last_hidden_state}
    if getattr(out, "pooler_output", None) is not None:
        got["pooler_output"] = out.pooler_output
    return got


def run_projection(model, pixels, interpolate):
    """CLIPVisionModelWithProjection / CLIPModel: the tower's outputs and image_embeds."""
    out = model.vision_model(pixel_values=pixels, interpolate_pos_encoding=interpolate)
    return {
        "last_hidden_state": out.last_hidden_state,
        "pooler_output": out.pooler_output,
        "image_embeds": model.visual_projection(out.pooler_output),
    }


def run_tower(model, pixels, interpolate):
    """SiglipModel: the vision tower only."""
    return run_base(model.vision_model, pixels, interpolate)


def run_classifier(model, pixels, interpolate):
    """DeiTForImageClassification(WithTeacher): logits, and the backbone's last_hidden_state."""
    out = model(pixel_values=pixels, interpolate_pos_encoding=interpolate)
    base = model.deit(pixel_values=pixels, interpolate_pos_encoding=interpolate)
    return {"logits": out.logits, "last_hidden_state": base.last_hidden_state}


def family_cases(root):
    from transformers import (
        CLIPConfig,
        CLIPModel,
        CLIPVisionConfig,
        CLIPVisionModel,
        CLIPVisionModelWithProjection,
        DeiTConfig,
        DeiTForImageClassification,
        DeiTForImageClassificationWithTeacher,
        DeiTModel,
        Dinov2Config,
        Dinov2Model,
        Dinov2WithRegistersConfig,
        Dinov2WithRegistersModel,
        SiglipConfig,
        SiglipModel,
        SiglipVisionConfig,
        SiglipVisionModel,
    )

    t = TINY
    text = dict(vocab_size=32, hidden_size=8, intermediate_size=8, num_hidden_layers=1, num_attention_heads=1, max_position_embeddings=8)
    mlp = dict(intermediate_size=32)
    dino = dict(t, mlp_ratio=2)
    # DINOv2: the table is resized to every input that is not its own square grid.
    dinov2 = lambda **kw: Dinov2Model(Dinov2Config(**{**dino, **kw}))
    family_case(root, "dinov2_resize", dinov2(image_size=24, num_hidden_layers=2), run_base, batch=2, size=[16, 16], note="Dinov2Model, table 6x6 used at 4x4 (as 518 -> 224), 2 layers")
    family_case(root, "dinov2_nonsquare", dinov2(), run_base, size=[16, 24], note="Dinov2Model, 4x4 table at 4x6")
    family_case(root, "dinov2_same", dinov2(), run_base, note="Dinov2Model at its own size (table as is)")
    family_case(root, "dinov2_swiglu", dinov2(use_swiglu_ffn=True, mlp_ratio=4), run_base, size=[20, 20], note="Dinov2Model with the SwiGLU MLP of dinov2-giant")
    family_case(root, "dinov2_f16", dinov2(), run_base, dtype=torch.float16, note="Dinov2Model, weights stored F16")
    family_case(root, "dinov2_bf16", dinov2(), run_base, dtype=torch.bfloat16, note="Dinov2Model, weights stored BF16")
    regs = lambda **kw: Dinov2WithRegistersModel(Dinov2WithRegistersConfig(**{**dino, **kw}))
    family_case(root, "dinov2_registers_down", regs(image_size=28), run_base, batch=2, size=[16, 16], note="Dinov2WithRegistersModel, 4 registers, antialiased 7x7 -> 4x4")
    family_case(root, "dinov2_registers_up", regs(num_register_tokens=2), run_base, size=[20, 28], note="Dinov2WithRegistersModel, 2 registers, antialiased 4x4 -> 5x7")
    # CLIP: the vision tower alone, with projection, and inside a two-tower CLIPModel.
    clip = lambda **kw: CLIPVisionConfig(**{**t, **mlp, **kw})
    family_case(root, "clip_vision", CLIPVisionModel(clip()), run_base, batch=2, note="CLIPVisionModel")
    family_case(root, "clip_vision_interp", CLIPVisionModel(clip()), run_base, size=[24, 20], interpolate=True, note="CLIPVisionModel, 4x4 -> 6x5 via interpolate_pos_encoding")
    family_case(root, "clip_projection", CLIPVisionModelWithProjection(clip(projection_dim=12)), run_projection, note="CLIPVisionModelWithProjection, projection 12")
    family_case(root, "clip_full", CLIPModel(CLIPConfig(text_config=text, vision_config=clip(), projection_dim=12)), run_projection, batch=2, note="two-tower CLIPModel: vision_model.* and visual_projection, text ignored")
    family_case(root, "clip_bf16", CLIPVisionModel(clip()), run_base, dtype=torch.bfloat16, note="CLIPVisionModel, weights stored BF16")
    # SigLIP: no CLS, post-norm over all tokens, attention-pooling head.
    sig = lambda **kw: SiglipVisionConfig(**{**t, **mlp, **kw})
    family_case(root, "siglip_vision", SiglipVisionModel(sig()), run_base, batch=2, note="SiglipVisionModel with the MAP head")
    family_case(root, "siglip_no_head", SiglipVisionModel(sig(vision_use_head=False)), run_base, note="SiglipVisionModel, vision_use_head false")
    family_case(root, "siglip_interp", SiglipVisionModel(sig()), run_base, size=[20, 24], interpolate=True, note="SiglipVisionModel, 4x4 -> 5x6 via interpolate_pos_encoding")
    family_case(root, "siglip_full", SiglipModel(SiglipConfig(text_config=text, vision_config=sig())), run_tower, note="two-tower SiglipModel: vision_model.*, text ignored")
    family_case(root, "siglip_f16", SiglipVisionModel(sig()), run_base, dtype=torch.float16, note="SiglipVisionModel, weights stored F16")
    # DeiT: a distillation token after CLS.
    deit = lambda **kw: DeiTConfig(**{**t, **mlp, **kw})
    labels = {"id2label": {str(i): f"class {i}" for i in range(3)}, "label2id": {f"class {i}": i for i in range(3)}}
    family_case(root, "deit_model", DeiTModel(deit()), run_base, batch=2, note="DeiTModel with pooler")
    family_case(root, "deit_interp", DeiTModel(deit(), add_pooling_layer=False), run_base, size=[20, 24], interpolate=True, note="DeiTModel without pooler, 4x4 -> 5x6")
    family_case(root, "deit_teacher", DeiTForImageClassificationWithTeacher(deit(**labels)), run_classifier, batch=2, note="DeiTForImageClassificationWithTeacher: mean of two heads")
    family_case(root, "deit_classifier", DeiTForImageClassification(deit(**labels)), run_classifier, note="DeiTForImageClassification")


def full_family_cases(root):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection, Dinov2Config, Dinov2Model

    def big(model, name, run, size, note):
        family_case(root, name, model, run, size=size, scale=0.02, note=note)

    # dinov2-base: 518 px table (37x37) used at 224 (16x16).
    big(Dinov2Model(Dinov2Config(image_size=518)), "dinov2_base_224", run_base, [224, 224], "dinov2-base shape, 518 table at 224")
    big(CLIPVisionModelWithProjection(CLIPVisionConfig()), "clip_b32_224", run_projection, None, "clip-vit-base-patch32 vision tower with projection")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--full-out", required=True)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--families-only", action="store_true", help="only the non-ViT families")
    args = ap.parse_args()
    root = os.path.join(args.out, "models")
    print(f"model fixtures -> {root}")
    if not args.families_only:
        small_cases(root)
    family_cases(root)
    if args.full:
        root = os.path.join(args.full_out, "models")
        print(f"full-size model fixtures -> {root}")
        if not args.families_only:
            full_cases(root)
        full_family_cases(root)


if __name__ == "__main__":
    main()
