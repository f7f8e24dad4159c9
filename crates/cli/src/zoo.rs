//! `random:NAME`: the Hub's ViT architectures with deterministic random weights, built in
//! memory. This is how benchmarks, examples and first runs work without a download.

use std::path::Path;

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
}

const INCEPTION: &str = r#"{"do_normalize": true, "do_resize": true, "image_mean": [0.5, 0.5, 0.5],
 "image_std": [0.5, 0.5, 0.5], "resample": 2, "size": 224}"#;
const IMAGENET_CROP: &str = r#"{"do_center_crop": true, "crop_size": 224, "do_normalize": true,
 "do_resize": true, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
 "resample": 3, "size": 256}"#;
const IMAGENET: &str = r#"{"do_normalize": true, "do_resize": true,
 "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225], "resample": 3,
 "size": {"height": 224, "width": 224}}"#;

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
    },
    Architecture {
        name: "vit-base-patch16-224",
        repo: "google/vit-base-patch16-224",
        config: r#"{"model_type": "vit", "hidden_size": 768, "num_hidden_layers": 12,
            "num_attention_heads": 12, "intermediate_size": 3072, "patch_size": 16}"#,
        preprocessor: INCEPTION,
        pooler: false,
        labels: 1000,
    },
    Architecture {
        name: "vit-large-patch16-224",
        repo: "google/vit-large-patch16-224",
        config: r#"{"model_type": "vit", "hidden_size": 1024, "num_hidden_layers": 24,
            "num_attention_heads": 16, "intermediate_size": 4096, "patch_size": 16}"#,
        preprocessor: INCEPTION,
        pooler: false,
        labels: 1000,
    },
    Architecture {
        name: "vit-huge-patch14-224-in21k",
        repo: "google/vit-huge-patch14-224-in21k",
        config: r#"{"model_type": "vit", "hidden_size": 1280, "num_hidden_layers": 32,
            "num_attention_heads": 16, "intermediate_size": 5120, "patch_size": 14}"#,
        preprocessor: INCEPTION,
        pooler: true,
        labels: 0,
    },
    Architecture {
        name: "deit-tiny-patch16-224",
        repo: "facebook/deit-tiny-patch16-224",
        config: r#"{"model_type": "vit", "hidden_size": 192, "num_hidden_layers": 12,
            "num_attention_heads": 3, "intermediate_size": 768, "patch_size": 16}"#,
        preprocessor: IMAGENET_CROP,
        pooler: false,
        labels: 1000,
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
    },
];

/// Looks up an architecture by name.
pub fn find(name: &str) -> Option<&'static Architecture> {
    ARCHITECTURES.iter().find(|a| a.name == name)
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
    fn new(arch: &Architecture, c: &ViTConfig, seed: u64) -> Self {
        let (d, i) = (c.hidden_size, c.intermediate_size);
        let prefix = if arch.labels > 0 { "vit." } else { "" };
        let mut names = vec![
            ("embeddings.cls_token".to_string(), vec![1, 1, d]),
            (
                "embeddings.position_embeddings".to_string(),
                vec![1, c.tokens(), d],
            ),
            (
                "embeddings.patch_embeddings.projection.weight".to_string(),
                vec![d, c.num_channels, c.patch_size[0], c.patch_size[1]],
            ),
            (
                "embeddings.patch_embeddings.projection.bias".to_string(),
                vec![d],
            ),
        ];
        let linear = |names: &mut Vec<(String, Vec<usize>)>, n: String, out: usize, inp: usize| {
            names.push((format!("{n}.weight"), vec![out, inp]));
            names.push((format!("{n}.bias"), vec![out]));
        };
        for l in 0..c.num_hidden_layers {
            let p = format!("encoder.layer.{l}.");
            for qkv in ["query", "key", "value"] {
                linear(&mut names, format!("{p}attention.attention.{qkv}"), d, d);
            }
            linear(&mut names, format!("{p}attention.output.dense"), d, d);
            linear(&mut names, format!("{p}intermediate.dense"), i, d);
            linear(&mut names, format!("{p}output.dense"), d, i);
            for norm in ["layernorm_before", "layernorm_after"] {
                names.push((format!("{p}{norm}.weight"), vec![d]));
                names.push((format!("{p}{norm}.bias"), vec![d]));
            }
        }
        names.push(("layernorm.weight".into(), vec![d]));
        names.push(("layernorm.bias".into(), vec![d]));
        if arch.pooler {
            linear(&mut names, "pooler.dense".into(), c.pooler_output_size, d);
        }
        let mut names: Vec<(String, Vec<usize>)> = names
            .into_iter()
            .map(|(n, s)| (format!("{prefix}{n}"), s))
            .collect();
        if arch.labels > 0 {
            linear(&mut names, "classifier".into(), arch.labels, d);
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
        let values = if name.contains("layernorm") && name.ends_with("weight") {
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
    fn every_architecture_builds_with_its_shapes() {
        let arch = find("deit-tiny-patch16-224").unwrap();
        let vit = arch.build(0).unwrap();
        assert_eq!(vit.labels().map(|l| l.len()), Some(1000));
        assert!(!vit.has_pooler());
        for a in ARCHITECTURES {
            let c = a.config();
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
        assert_eq!(
            find("vit-huge-patch14-224-in21k")
                .unwrap()
                .config()
                .tokens(),
            257
        );
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
