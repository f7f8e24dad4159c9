//! `random:NAME`: the Hub's ViT architectures with deterministic random weights, built in
//! memory. This is how benchmarks, examples and first runs work without a download.

use std::path::Path;

use vitrs_model::family::{Cls, MlpKind, Pooling};
use vitrs_model::{LoadOptions, ModelError, ViT, ViTConfig, WeightSource};

/// One of the Hub's ViT-family architectures.
#[derive(Debug, Clone, Copy)]
pub struct Architecture {
    /// The name after `random:` (the Hub repo name without its organisation).
    pub name: &'static str,
    /// The Hub repo it mirrors.
    pub repo: &'static str,
    /// Its `config.json`.
    pub config: &'static str,
    /// Its `preprocessor_config.json`.
    pub preprocessor: &'static str,
    /// Whether the checkpoint has a pooler.
    pub pooler: bool,
    /// Classifier outputs (0: none).
    pub labels: usize,
    /// DeiT's teacher pair of classifiers instead of one.
    pub teacher: bool,
    /// Width of CLIP's `visual_projection` (0: none).
    pub projection: usize,
}

const INCEPTION: &str = r#"{"do_normalize": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5],
 "image_std": [0.5, 0.5, 0.5], "resample": 2, "size": 224}"#;
const IMAGENET_CROP: &str = r#"{"do_center_crop": true, "crop_size": 224, "do_normalize": true,
 "do_resize": true, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
 "resample": 3, "size": 256}"#;
const IMAGENET: &str = r#"{"do_normalize": true, "do_resize": true,
 "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "resample": 3,
 "size": {"height": 224, "width": 224}}"#;

const BIT_DINOV2: &str = r#"{"image_processor_type": "BitImageProcessor", "do_center_crop": true,
 "crop_size": {"height": 224, "width": 224}, "do_normalize": true, "do_resize": true,
 "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "resample": 3,
 "size": {"shortest_edge": 256}}"#;
const CLIP: &str = r#"{"image_processor_type": "CLIPImageProcessor", "crop_size": 224,
 "do_center_crop": true, "do_normalize": true, "do_resize": true,
 "image_mean": [0.48145466, 0.4578275, 0.40821073],
 "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 224}"#;
const SIGLIP: &str = r#"{"image_processor_type": "SiglipImageProcessor", "do_normalize": true,
 "do_resize": true, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
 "resample": 3, "size": {"height": 224, "width": 224}}"#;
const DEIT: &str = r#"{"image_processor_type": "DeiTImageProcessor", "do_center_crop": true,
 "crop_size": {"height": 224, "width": 224}, "do_normalize": true, "do_resize": true,
 "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "resample": 3,
 "size": {"height": 256, "width": 256}}"#;

/// The architectures `random:` knows.
pub const ARCHITECTURES: &[Architecture] = &[
    Architecture {
        name: "vit-base-patch16-224-in21k",
        repo: "google/vit-base-patch16-224-in21k",
        config: r#"{"model_type": "vit", "hidden_size": 768, "num_hidden_layers": 12,
            "num_attention_heads": 12, "intermediate_size": 3072, "patch_size": 16}"#,
        preprocessor: INCEPTION,
        pooler: true,
        labels: 0,
        teacher: false,
        projection: 0,
    },
    Architecture {
        name: "vit-base-patch16-224",
        repo: "google/vit-base-patch16-224",
        config: r#"{"model_type": "vit", "hidden_size": 768, "num_hidden_layers": 12,
            "num_attention_heads": 12, "intermediate_size": 3072, "patch_size": 16}"#,
        preprocessor: INCEPTION,
        pooler: false,
        labels: 1000,
        teacher: false,
        projection: 0,
    },
    Architecture {
        name: "vit-large-patch16-224",
        repo: "google/vit-large-patch16-224",
        config: r#"{"model_type": "vit", "hidden_size": 1024, "num_hidden_layers": 24,
            "num_attention_heads": 16, "intermediate_size": 4096, "patch_size": 16}"#,
        preprocessor: INCEPTION,
        pooler: false,
        labels: 1000,
        teacher: false,
        projection: 0,
    },
    Architecture {
        name: "vit-huge-patch14-224-in21k",
        repo: "google/vit-huge-patch14-224-in21k",
        config: r#"{"model_type": "vit", "hidden_size": 1280, "num_hidden_layers": 32,
            "num_attention_heads": 16, "intermediate_size": 5120, "patch_size": 14}"#,
        preprocessor: INCEPTION,
        pooler: true,
        labels: 0,
        teacher: false,
        projection: 0,
    },
    Architecture {
        name: "deit-tiny-patch16-224",
        repo: "facebook/deit-tiny-patch16-224",
        config: r#"{"model_type": "vit", "hidden_size": 192, "num_hidden_layers": 12,
            "num_attention_heads": 3, "intermediate_size": 768, "patch_size": 16}"#,
        preprocessor: IMAGENET_CROP,
        pooler: false,
        labels: 1000,
        teacher: false,
        projection: 0,
    },
    Architecture {
        name: "dino-vitb16",
        repo: "facebook/dino-vitb16",
        config: r#"{"model_type": "vit", "hidden_size": 768, "num_hidden_layers": 12,
            "num_attention_heads": 12, "intermediate_size": 3072, "patch_size": 16,
            "layer_norm_eps": 1e-6}"#,
        preprocessor: IMAGENET,
        pooler: false,
        labels: 0,
        teacher: false,
        projection: 0,
    },
    Architecture {
        name: "dinov2-small",
        repo: "facebook/dinov2-small",
        config: r#"{"model_type": "dinov2", "hidden_size": 384, "num_hidden_layers": 12,
            "num_attention_heads": 6, "mlp_ratio": 4, "image_size": 518, "patch_size": 14}"#,
        preprocessor: BIT_DINOV2,
        pooler: false,
        labels: 0,
        teacher: false,
        projection: 0,
    },
    Architecture {
        name: "dinov2-base",
        repo: "facebook/dinov2-base",
        config: r#"{"model_type": "dinov2", "hidden_size": 768, "num_hidden_layers": 12,
            "num_attention_heads": 12, "mlp_ratio": 4, "image_size": 518, "patch_size": 14}"#,
        preprocessor: BIT_DINOV2,
        pooler: false,
        labels: 0,
        teacher: false,
        projection: 0,
    },
    Architecture {
        name: "clip-vit-base-patch32",
        repo: "openai/clip-vit-base-patch32",
        config: r#"{"model_type": "clip", "projection_dim": 512, "vision_config": {
            "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
            "num_attention_heads": 12, "image_size": 224, "patch_size": 32}}"#,
        preprocessor: CLIP,
        pooler: false,
        labels: 0,
        teacher: false,
        projection: 512,
    },
    Architecture {
        name: "clip-vit-base-patch16",
        repo: "openai/clip-vit-base-patch16",
        config: r#"{"model_type": "clip", "projection_dim": 512, "vision_config": {
            "hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
            "num_attention_heads": 12, "image_size": 224, "patch_size": 16}}"#,
        preprocessor: CLIP,
        pooler: false,
        labels: 0,
        teacher: false,
        projection: 512,
    },
    Architecture {
        name: "siglip-base-patch16-224",
        repo: "google/siglip-base-patch16-224",
        config: r#"{"model_type": "siglip", "vision_config": {"hidden_size": 768,
            "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12,
            "image_size": 224, "patch_size": 16}}"#,
        preprocessor: SIGLIP,
        pooler: false,
        labels: 0,
        teacher: false,
        projection: 0,
    },
    Architecture {
        name: "deit-base-distilled-patch16-224",
        repo: "facebook/deit-base-distilled-patch16-224",
        config: r#"{"model_type": "deit", "hidden_size": 768, "num_hidden_layers": 12,
            "num_attention_heads": 12, "intermediate_size": 3072, "patch_size": 16}"#,
        preprocessor: DEIT,
        pooler: false,
        labels: 1000,
        teacher: true,
        projection: 0,
    },
];

/// Looks up an architecture by its name (`dinov2-base`) or its Hub repo (`facebook/dinov2-base`).
pub fn find(name: &str) -> Option<&'static Architecture> {
    ARCHITECTURES
        .iter()
        .find(|a| a.name == name || a.repo == name)
}

/// The names `random:` accepts, comma-separated (for error messages).
pub fn names() -> String {
    ARCHITECTURES
        .iter()
        .map(|a| a.name)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Architecture {
    /// Its config.
    pub fn config(&self) -> ViTConfig {
        ViTConfig::from_json_str(self.config, Path::new(self.name))
            .expect("built-in architectures have valid configs")
    }

    /// Builds the architecture with random weights from `seed` (same seed, same weights).
    pub fn build(&self, seed: u64) -> Result<ViT, ModelError> {
        self.build_with(seed, &LoadOptions::default())
    }

    /// [`Architecture::build`] with load options (the dtype of the linears).
    pub fn build_with(&self, seed: u64, opts: &LoadOptions) -> Result<ViT, ModelError> {
        let config = self.config();
        let weights = RandomWeights::new(self, &config, seed);
        ViT::from_source_with(config, &weights, opts)
    }
}

/// Weights drawn like transformers' initialisation: N(0, 0.02) for matrices and the CLS and
/// position tables, zeros for biases, ones for LayerNorm scales. Each tensor has its own
/// stream derived from the seed and its name, so the values do not depend on load order.
struct RandomWeights {
    names: Vec<(String, Vec<usize>)>,
    seed: u64,
    label: String,
}

impl RandomWeights {
    /// The tensors a checkpoint of `arch` holds, named and shaped as the family's files name
    /// them ([`vitrs_model::family::Names`]).
    fn new(arch: &Architecture, c: &ViTConfig, seed: u64) -> Self {
        let (d, i) = (c.hidden_size, c.intermediate_size);
        let v = c.variant;
        let n = v.family.names();
        let heads_outside = arch.labels > 0 || arch.projection > 0;
        let prefix = if heads_outside { n.prefixes[0] } else { "" };
        let mut names: Vec<(String, Vec<usize>)> = Vec::new();
        let mut add = |name: String, dims: Vec<usize>| names.push((name, dims));
        let linear = |add: &mut dyn FnMut(String, Vec<usize>), n: &str, out: usize, inp: usize| {
            add(format!("{n}.weight"), vec![out, inp]);
            add(format!("{n}.bias"), vec![out]);
        };
        let norm = |add: &mut dyn FnMut(String, Vec<usize>), n: &str| {
            add(format!("{n}.weight"), vec![d]);
            add(format!("{n}.bias"), vec![d]);
        };
        match v.tokens.cls {
            Cls::None => {}
            Cls::Token => add(n.cls.into(), vec![1, 1, d]),
            Cls::Vector => add(n.cls.into(), vec![d]),
        }
        if v.tokens.distillation {
            add(n.distillation.into(), vec![1, 1, d]);
        }
        if v.tokens.registers > 0 {
            add(n.registers.into(), vec![1, v.tokens.registers, d]);
        }
        let rows = v.tokens.positioned() + c.grid()[0] * c.grid()[1];
        match v.positions.leading_one {
            true => add(n.positions.into(), vec![1, rows, d]),
            false => add(n.positions.into(), vec![rows, d]),
        }
        let [ph, pw] = c.patch_size;
        add(
            format!("{}.weight", n.patch),
            vec![d, c.num_channels, ph, pw],
        );
        if v.patch_bias {
            add(format!("{}.bias", n.patch), vec![d]);
        }
        if v.pre_norm {
            norm(&mut add, n.pre_norm);
        }
        for l in 0..c.num_hidden_layers {
            let p = |name: &str| format!("{}.{l}.{name}", n.layers);
            for qkv in n.qkv {
                add(format!("{}.weight", p(qkv)), vec![d, d]);
                if c.qkv_bias {
                    add(format!("{}.bias", p(qkv)), vec![d]);
                }
            }
            linear(&mut add, &p(n.attn_out), d, d);
            norm(&mut add, &p(n.norm1));
            norm(&mut add, &p(n.norm2));
            match v.mlp {
                MlpKind::Plain => {
                    linear(&mut add, &p(n.mlp[0]), i, d);
                    linear(&mut add, &p(n.mlp[1]), d, i);
                }
                MlpKind::SwiGlu => {
                    linear(&mut add, &p(n.swiglu[0]), 2 * i, d);
                    linear(&mut add, &p(n.swiglu[1]), d, i);
                }
            }
            if v.layer_scale {
                add(p(n.layer_scale1), vec![d]);
                add(p(n.layer_scale2), vec![d]);
            }
        }
        norm(&mut add, n.final_norm);
        match v.pooling {
            Pooling::Dense if arch.pooler => {
                linear(&mut add, n.pooler, c.pooler_output_size, d);
            }
            Pooling::AttentionProbe => {
                let h = |name: &str| format!("{}.{name}", n.pooler);
                add(h("probe"), vec![1, 1, d]);
                add(h("attention.in_proj_weight"), vec![3 * d, d]);
                add(h("attention.in_proj_bias"), vec![3 * d]);
                linear(&mut add, &h("attention.out_proj"), d, d);
                norm(&mut add, &h("layernorm"));
                linear(&mut add, &h("mlp.fc1"), i, d);
                linear(&mut add, &h("mlp.fc2"), d, i);
            }
            _ => {}
        }
        let mut names: Vec<(String, Vec<usize>)> = names
            .into_iter()
            .map(|(n, s)| (format!("{prefix}{n}"), s))
            .collect();
        let mut add = |name: String, dims: Vec<usize>| names.push((name, dims));
        if arch.projection > 0 {
            add(format!("{}.weight", n.projection), vec![arch.projection, d]);
        }
        if arch.labels > 0 && arch.teacher {
            for head in n.teacher {
                linear(&mut add, head, arch.labels, d);
            }
        } else if arch.labels > 0 {
            linear(&mut add, n.classifier, arch.labels, d);
        }
        RandomWeights {
            names,
            seed,
            label: format!("random:{}", arch.name),
        }
    }
}

/// SplitMix64: small, fast and good enough for weights nobody trains.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn normals(n: usize, std: f32, mut state: u64) -> Vec<f32> {
    let mut out = Vec::with_capacity(n + 1);
    let unit = |s: &mut u64| ((splitmix(s) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    while out.len() < n {
        // Box–Muller: two uniforms in (0, 1) to two normals.
        let (u, v) = (unit(&mut state), unit(&mut state));
        let r = (-2.0 * u.ln()).sqrt();
        let t = std::f64::consts::TAU * v;
        out.push((r * t.cos()) as f32 * std);
        out.push((r * t.sin()) as f32 * std);
    }
    out.truncate(n);
    out
}

impl WeightSource for RandomWeights {
    fn names(&self) -> Vec<String> {
        let mut n: Vec<String> = self.names.iter().map(|(n, _)| n.clone()).collect();
        n.sort();
        n
    }

    fn dims(&self, name: &str) -> Option<Vec<usize>> {
        self.names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
    }

    fn load(&self, name: &str) -> Result<Option<Vec<f32>>, ModelError> {
        let Some(dims) = self.dims(name) else {
            return Ok(None);
        };
        let n: usize = dims.iter().product();
        // LayerNorm scales and LayerScale start at 1, as transformers initialises them.
        let values =
            if (name.contains("norm") && name.ends_with("weight")) || name.ends_with("lambda1") {
                vec![1.0; n]
            } else if name.ends_with("bias") {
                vec![0.0; n]
            } else {
                let mut state = self.seed;
                for b in name.bytes() {
                    state = splitmix(&mut state) ^ u64::from(b);
                }
                normals(n, 0.02, state)
            };
        Ok(Some(values))
    }

    fn describe(&self) -> String {
        self.label.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_takes_the_name_or_the_hub_repo() {
        for a in ARCHITECTURES {
            assert_eq!(find(a.name).map(|f| f.repo), Some(a.repo));
            assert_eq!(find(a.repo).map(|f| f.name), Some(a.name));
        }
        assert!(find("facebook/dinov2-huge").is_none());
    }

    #[test]
    fn every_architecture_builds_with_its_shapes() {
        let arch = find("deit-tiny-patch16-224").unwrap();
        let vit = arch.build(0).unwrap();
        assert_eq!(vit.labels().map(|l| l.len()), Some(1000));
        assert!(!vit.has_pooler());
        for a in ARCHITECTURES {
            let c = a.config();
            if c.variant.family == vitrs_model::Family::Vit {
                let w = RandomWeights::new(a, &c, 0);
                assert_eq!(
                    w.dims(&format!(
                        "{}embeddings.position_embeddings",
                        if a.labels > 0 { "vit." } else { "" }
                    )),
                    Some(vec![1, c.tokens(), c.hidden_size]),
                    "{}",
                    a.name
                );
            }
        }
        // The other families' random checkpoints hold the parameters transformers counts for
        // their Hub configs (`num_parameters()`, DINOv2's unused mask_token excluded), and
        // load (every tensor named as their files name it, none left over) — checked on a
        // narrow copy, which is quick in a debug build.
        let shapes = [
            ("dinov2-small", 22_056_192, 257),
            ("clip-vit-base-patch32", 87_849_216, 50),
            ("siglip-base-patch16-224", 92_884_224, 196),
            ("deit-base-distilled-patch16-224", 87_338_192, 198),
        ];
        for (name, params, tokens) in shapes {
            let a = find(name).unwrap();
            let c = a.config();
            let w = RandomWeights::new(a, &c, 0);
            let count: usize = w
                .names
                .iter()
                .map(|(_, d)| d.iter().product::<usize>())
                .sum();
            assert_eq!(count, params, "{name}");
            let grid = 224 / c.patch_size[0];
            assert_eq!(c.variant.tokens.prefix() + grid * grid, tokens, "{name}");
            let mut narrow = c.clone();
            narrow.hidden_size = 32;
            narrow.num_attention_heads = 2;
            narrow.intermediate_size = 48;
            narrow.num_hidden_layers = 2;
            let w = RandomWeights::new(a, &narrow, 0);
            let vit = ViT::from_source(narrow, &w).unwrap();
            assert_eq!(
                vit.labels().map(|l| !l.is_empty()),
                (a.labels > 0).then_some(true)
            );
            assert_eq!(
                vit.projection_dim(),
                (a.projection > 0).then_some(a.projection)
            );
        }
    }

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let a = find("deit-tiny-patch16-224").unwrap();
        let c = a.config();
        let name = "vit.encoder.layer.3.output.dense.weight";
        let w0 = RandomWeights::new(a, &c, 7).load(name).unwrap().unwrap();
        let w1 = RandomWeights::new(a, &c, 7).load(name).unwrap().unwrap();
        let w2 = RandomWeights::new(a, &c, 8).load(name).unwrap().unwrap();
        assert_eq!(w0, w1);
        assert_ne!(w0, w2);
        let mean = w0.iter().sum::<f32>() / w0.len() as f32;
        let var = w0.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / w0.len() as f32;
        assert!(
            mean.abs() < 1e-3 && (var.sqrt() - 0.02).abs() < 1e-3,
            "{mean} {var}"
        );
    }
}
