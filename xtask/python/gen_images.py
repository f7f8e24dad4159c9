"""Preprocessing fixtures: what transformers' ViTImageProcessor makes of image files, in both backends.

Writes <out>/preprocess/images/ (small generated images in every mode and format Pillow can
write: transparency, palettes, 16-bit, GIF, BMP, WebP, TIFF, progressive JPEG) and one folder
per case with `preprocessor_config.json`, `case.json` (the image list, in order) and
`expected.safetensors` (`pixel_values` [N, 3, H, W] f32, from ViTImageProcessorPil with
do_convert_rgb=True on `PIL.Image.open(path)`). Cases named `tv_*` hold the torchvision backend's
output instead (`ViTImageProcessor`, what AutoImageProcessor and pipeline() use), with
"backend": "torchvision" in case.json.
"""

import argparse
import json
import os
import shutil

import numpy as np
from PIL import Image
from safetensors.numpy import save_file
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil
from transformers.models.vit.image_processing_vit import ViTImageProcessor
from transformers.image_utils import load_image

REAL = ["camera.png", "chelsea.png", "coins.png", "logo.png", "microaneurysms.png", "rocket.jpg"]
FILTERS = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}
IMAGENET = dict(image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])


def make_images(real_dir, out_dir):
    """Small images in the modes and formats a user may hand us, cut from the real photos."""
    os.makedirs(out_dir, exist_ok=True)
    cat = Image.open(os.path.join(real_dir, "chelsea.png")).convert("RGB").crop((100, 40, 196, 112))
    rng = np.random.default_rng(0)
    made = {}

    def save(name, img, **kw):
        path = os.path.join(out_dir, name)
        img.save(path, **kw)
        made[name] = path

    rgba = cat.convert("RGBA")
    alpha = np.tile(np.linspace(0, 255, cat.width, dtype=np.float64), (cat.height, 1))
    alpha[: cat.height // 3] = 0
    alpha[-cat.height // 3 :] = 255
    rgba.putalpha(Image.fromarray(alpha.round().astype(np.uint8)))
    save("rgba_transparent.png", rgba)
    la = cat.convert("L").convert("LA")
    la.putalpha(Image.fromarray(alpha.round().astype(np.uint8)))
    save("la.png", la)
    pal = cat.quantize(colors=32, method=Image.Quantize.MEDIANCUT)
    save("palette.png", pal)
    pal_t = pal.copy()
    pal_t.info["transparency"] = 3
    save("palette_transparent.png", pal_t, transparency=3)
    grey16 = (np.asarray(cat.convert("L"), dtype=np.uint16) * 257 // 3 + rng.integers(0, 200, (cat.height, cat.width))).astype(np.uint16)
    save("grey16.png", Image.fromarray(grey16))
    save("bilevel.png", cat.convert("1"))
    save("cat.gif", pal)
    save("cat.bmp", cat)
    save("cat_lossless.webp", cat, lossless=True)
    save("cat.tiff", cat)
    save("cat_progressive.jpg", cat, quality=90, progressive=True)
    save("cat_baseline.jpg", cat, quality=90)
    # Every EXIF orientation on a small, non-square JPEG (pipelines turn them upright).
    small = cat.crop((0, 0, 30, 18))
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        save(f"exif_{o}.jpg", small, quality=95, exif=exif.tobytes())
    return made


def _pil_classes():
    from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.deit.image_processing_pil_deit import DeiTImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    return {
        "ViTImageProcessor": ViTImageProcessorPil,
        "CLIPImageProcessor": CLIPImageProcessorPil,
        "BitImageProcessor": BitImageProcessorPil,
        "SiglipImageProcessor": SiglipImageProcessorPil,
        "DeiTImageProcessor": DeiTImageProcessorPil,
    }


PIL_CLASSES = _pil_classes()


def write_case(root, name, config, images, lossy, backend="pil", exif=False):
    case = os.path.join(root, name)
    shutil.rmtree(case, ignore_errors=True)
    os.makedirs(case)
    with open(os.path.join(case, "preprocessor_config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    kind = config.get("image_processor_type", "ViTImageProcessor")
    if backend == "pil":
        cls = PIL_CLASSES[kind]
    else:
        assert kind == "ViTImageProcessor"
        cls = ViTImageProcessor
    proc = cls(**{k: v for k, v in config.items() if k != "image_processor_type"})
    assert proc.backend == backend
    arrays = []
    for path in images:
        image = load_image(path) if exif else Image.open(path)
        out = proc(images=image, do_convert_rgb=True, return_tensors="np")
        arrays.append(np.asarray(out["pixel_values"][0]).astype(np.float32))
    shapes = {a.shape for a in arrays}
    if len(shapes) == 1:
        save_file({"pixel_values": np.stack(arrays)}, os.path.join(case, "expected.safetensors"))
    else:
        save_file({f"pixel_values.{i}": a[None] for i, a in enumerate(arrays)}, os.path.join(case, "expected.safetensors"))
    rel = [os.path.relpath(p, case) for p in images]
    meta = {} if backend == "pil" else {"backend": backend}
    meta |= {"exif": True} if exif else {}
    meta |= {"images": rel, "lossy": [p.endswith((".jpg", ".jpeg")) for p in images] if lossy else [False] * len(images)}
    with open(os.path.join(case, "case.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"  {name}: {len(images)} images -> {sorted(shapes)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--full-out", required=True)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--families-only", action="store_true", help="only the other families' processor cases")
    args = ap.parse_args()
    real_dir = os.path.join(args.out, "images")
    root = os.path.join(args.out, "preprocess")
    print(f"preprocessing fixtures -> {root}")
    generated = make_images(real_dir, os.path.join(root, "images"))
    real = [os.path.join(real_dir, r) for r in REAL]
    everything = real + [generated[k] for k in sorted(generated) if not k.startswith("exif_")]

    # The other families' processor classes: their class defaults fill the keys left out.
    write_case(root, "class_bit_dinov2", {"image_processor_type": "BitImageProcessor", "size": {"shortest_edge": 40}, "crop_size": {"height": 32, "width": 32}, "resample": 3, **IMAGENET}, [real[1], real[5]], True)
    write_case(root, "class_clip_int_size", {"image_processor_type": "CLIPImageProcessor", "size": 36, "crop_size": 32}, [real[2], generated["rgba_transparent.png"]], True)
    write_case(root, "class_siglip", {"image_processor_type": "SiglipImageProcessor", "size": {"height": 32, "width": 32}}, [real[1], real[4]], True)
    write_case(root, "class_deit", {"image_processor_type": "DeiTImageProcessor", "size": {"height": 40, "width": 40}, "crop_size": {"height": 32, "width": 32}}, [real[3], real[5]], True)
    if args.families_only:
        return
    write_case(root, "hub_default_224", {"do_normalize": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2, "size": 224}, [real[1]], True)
    for code, fname in FILTERS.items():
        write_case(root, f"down_{fname}", {"size": {"height": 24, "width": 32}, "resample": code}, everything, True)
    for code in (2, 3, 1, 0):
        write_case(root, f"up_{FILTERS[code]}", {"size": {"height": 96, "width": 80}, "resample": code}, [real[4]], True)
    write_case(root, "shortest_edge_crop_imagenet", {"size": {"shortest_edge": 40}, "do_center_crop": True, "crop_size": {"height": 32, "width": 32}, "resample": 3, **IMAGENET}, real + [generated["rgba_transparent.png"]], True)
    write_case(root, "int_size_crop", {"size": 36, "do_center_crop": True, "crop_size": 32, "resample": 3, **IMAGENET}, [real[1], real[2]], True)
    write_case(root, "crop_larger_than_image", {"size": {"height": 20, "width": 27}, "do_center_crop": True, "crop_size": {"height": 25, "width": 24}}, [real[1]], True)
    write_case(root, "no_rescale_no_normalize", {"size": 16, "do_rescale": False, "do_normalize": False}, [real[0], real[3]], True)
    write_case(root, "no_resize_missing_keys", {"do_resize": False}, [generated["palette_transparent.png"], generated["la.png"]], True)
    write_case(root, "shortest_edge_keeps_aspect", {"size": {"shortest_edge": 30}}, [real[1], real[5], real[4]], True)
    # Pillow 13 runs the vertical pass first when the height shrinks by more than twice as many
    # pixels as the width: both shrinking (16x88 from the 96x72 cats and the 102x102 image; the
    # large ones stay horizontal-first) and the width growing (30x140), JPEGs included.
    order_images = [generated["cat_baseline.jpg"], generated["cat.bmp"], real[4], real[1], real[5]]
    for code in (1, 2, 3, 4, 5):
        write_case(root, f"pil_order_{FILTERS[code]}", {"size": {"height": 16, "width": 88}, "resample": code}, order_images, True)
    for code in (2, 3):
        write_case(root, f"pil_order_widen_{FILTERS[code]}", {"size": {"height": 30, "width": 140}, "resample": code}, order_images, True)
    exif_images = [generated[f"exif_{o}.jpg"] for o in range(1, 9)]
    write_case(root, "exif_orientations_resized_pil", {"size": {"height": 6, "width": 16}, "resample": 3}, exif_images, True, exif=True)

    # The torchvision backend: every filter torch has (BOX and HAMMING raise there), both sizes
    # forms, crops inside and larger than the image, each rescale/normalise combination.
    tv = lambda name, *a, **kw: write_case(root, f"tv_{name}", *a, backend="torchvision", **kw)
    tv("hub_default_224", {"do_normalize": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "resample": 2, "size": 224}, [real[1]], True)
    for code in (0, 1, 2, 3):
        tv(f"down_{FILTERS[code]}", {"size": {"height": 24, "width": 32}, "resample": code}, everything, True)
        tv(f"up_{FILTERS[code]}", {"size": {"height": 96, "width": 80}, "resample": code}, [real[4], generated["cat_baseline.jpg"]], True)
    tv("shortest_edge_crop_imagenet", {"size": {"shortest_edge": 40}, "do_center_crop": True, "crop_size": {"height": 32, "width": 32}, "resample": 3, **IMAGENET}, real + [generated["rgba_transparent.png"]], True)
    tv("int_size_crop", {"size": 36, "do_center_crop": True, "crop_size": 32, "resample": 3, **IMAGENET}, [real[1], real[2]], True)
    tv("crop_larger_than_image", {"size": {"height": 20, "width": 27}, "do_center_crop": True, "crop_size": {"height": 25, "width": 24}}, [real[1]], True)
    tv("crop_larger_both_odd", {"size": {"height": 18, "width": 19}, "do_center_crop": True, "crop_size": {"height": 23, "width": 26}, **IMAGENET}, [real[2]], True)
    tv("no_rescale_no_normalize", {"size": 16, "do_rescale": False, "do_normalize": False}, [real[0], real[3]], True)
    tv("rescale_only", {"size": 16, "do_normalize": False, "rescale_factor": 0.00392156862745098}, [real[1]], True)
    tv("normalize_only", {"size": 16, "do_rescale": False, **IMAGENET}, [real[1]], True)
    tv("no_resize_missing_keys", {"do_resize": False}, [generated["palette_transparent.png"], generated["la.png"]], True)
    tv("shortest_edge_keeps_aspect", {"size": {"shortest_edge": 30}}, [real[1], real[5], real[4]], True)
    exif = [generated[f"exif_{o}.jpg"] for o in range(1, 9)]
    tv("exif_orientations", {"size": {"height": 12, "width": 20}, "do_resize": False}, exif, True, exif=True)
    tv("exif_orientations_resized", {"size": {"height": 12, "width": 20}, "resample": 3}, exif, True, exif=True)
    write_case(root, "exif_orientations", {"do_resize": False}, exif, True, exif=True)
    tv("shortest_edge_longest_edge", {"size": {"shortest_edge": 30, "longest_edge": 40}, "resample": 3}, [real[1], real[5], real[4]], True)


if __name__ == "__main__":
    main()
