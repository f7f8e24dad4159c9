//! `vitrs info`: what a model is — its module tree in the style of transformers' printout,
//! parameters, dtype, file size, tokens and GFLOP per image.

use std::fmt::Write;
use std::process::ExitCode;

use anyhow::Result;
use vitrs_model::family::{Cls, Family, FinalNorm, MlpKind, Pooling};
use vitrs_model::{Layout, ViT, ViTConfig};

use vitrs::load::Source;

use super::model_args::ModelArgs;

/// `vitrs info --help` examples.
pub const EXAMPLES: &str = "\
Examples:
  vitrs info --model google/vit-base-patch16-224
  vitrs info --model random:dinov2-small";

/// Arguments of `vitrs info`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
}

fn linear(i: usize, o: usize, bias: bool) -> String {
    let bias = if bias { "True" } else { "False" };
    format!("Linear(in_features={i}, out_features={o}, bias={bias})")
}

fn act_name(a: vitrs_kernels::Activation) -> String {
    use vitrs_kernels::Activation::*;
    match a {
        Gelu => "GELUActivation()".into(),
        Tanh => "Tanh()".into(),
        other => format!("{other}"),
    }
}

/// The module tree, named as the checkpoint names its tensors.
pub fn tree(c: &ViTConfig, layout: Layout, pooler: Option<usize>, labels: Option<usize>) -> String {
    let (d, i, l) = (c.hidden_size, c.intermediate_size, c.num_hidden_layers);
    let norm = |n: usize| {
        format!(
            "LayerNorm(({n},), eps={:e}, elementwise_affine=True)",
            c.layer_norm_eps
        )
    };
    let [ph, pw] = c.patch_size;
    let mut s = String::new();
    let classify = layout == Layout::ForImageClassification;
    let pad = if classify { "  " } else { "" };
    if classify {
        s.push_str("ViTForImageClassification(\n  (vit): ViTModel(\n");
    } else {
        s.push_str("ViTModel(\n");
    }
    let body = format!(
        "  (embeddings): ViTEmbeddings(\n    (patch_embeddings): ViTPatchEmbeddings(\n      \
         (projection): Conv2d({ch}, {d}, kernel_size=({ph}, {pw}), stride=({ph}, {pw}))\n    )\n  )\n  \
         (encoder): ViTEncoder(\n    (layer): ModuleList(\n      ({range}): {l} x ViTLayer(\n        \
         (attention): ViTAttention(\n          (attention): ViTSelfAttention(\n            \
         (query): {q}\n            (key): {q}\n            (value): {q}\n          )\n          \
         (output): ViTSelfOutput(\n            (dense): {o}\n          )\n        )\n        \
         (intermediate): ViTIntermediate(\n          (dense): {fc1}\n          \
         (intermediate_act_fn): {act}\n        )\n        (output): ViTOutput(\n          \
         (dense): {fc2}\n        )\n        (layernorm_before): {n}\n        \
         (layernorm_after): {n}\n      )\n    )\n  )\n  (layernorm): {n}\n",
        ch = c.num_channels,
        range = if l > 1 { format!("0-{}", l - 1) } else { "0".into() },
        q = linear(d, d, c.qkv_bias),
        o = linear(d, d, true),
        fc1 = linear(d, i, true),
        fc2 = linear(i, d, true),
        act = act_name(c.hidden_act),
        n = norm(d),
    );
    for line in body.lines() {
        let _ = writeln!(s, "{pad}{line}");
    }
    if let Some(p) = pooler {
        let _ = writeln!(
            s,
            "{pad}  (pooler): ViTPooler(\n{pad}    (dense): {}\n{pad}    (activation): {}\n{pad}  )",
            linear(d, p, true),
            act_name(c.pooler_act)
        );
    }
    if classify {
        s.push_str("  )\n");
    }
    if let Some(n) = labels {
        let _ = writeln!(s, "  (classifier): {}", linear(d, n, true));
    }
    s.push_str(")\n");
    s
}

/// The transformers class a loaded model mirrors.
pub fn class_name(family: Family, layout: Layout) -> &'static str {
    match (family, layout) {
        (Family::Vit, Layout::ForImageClassification) => "ViTForImageClassification",
        (Family::Vit, _) => "ViTModel",
        (Family::Deit, Layout::ForImageClassification) => "DeiTForImageClassification",
        (Family::Deit, Layout::ForImageClassificationWithTeacher) => {
            "DeiTForImageClassificationWithTeacher"
        }
        (Family::Deit, _) => "DeiTModel",
        (Family::Dinov2, _) => "Dinov2Model",
        (Family::Dinov2WithRegisters, _) => "Dinov2WithRegistersModel",
        (Family::Clip, Layout::WithProjection) => "CLIPVisionModelWithProjection",
        (Family::Clip, _) => "CLIPVisionModel",
        (Family::Siglip, _) => "SiglipVisionModel",
    }
}

/// For families other than ViT: the shape and what the family computes differently, in a
/// few lines (transformers' printout of these classes is long and says less).
pub fn summary(vit: &ViT) -> String {
    let c = vit.config();
    let v = vit.variant();
    let mut s = String::new();
    let _ = writeln!(s, "{}(", class_name(v.family, vit.layout()));
    let mlp = match v.mlp {
        MlpKind::Plain => format!("{} {}", c.intermediate_size, act_name(c.hidden_act)),
        MlpKind::SwiGlu => format!("SwiGLU {}", c.intermediate_size),
    };
    let _ = writeln!(
        s,
        "  width {}, {} layers of {} heads, MLP {mlp}, LayerNorm eps {:e}",
        c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.layer_norm_eps
    );
    let mut tokens = Vec::new();
    match v.tokens.cls {
        Cls::None => {}
        Cls::Token | Cls::Vector => tokens.push("CLS".to_string()),
    }
    if v.tokens.distillation {
        tokens.push("distillation".into());
    }
    if v.tokens.registers > 0 {
        tokens.push(format!("{} registers", v.tokens.registers));
    }
    tokens.push("patches".into());
    let resize = match (v.positions.always_resize, v.positions.antialias) {
        (true, true) => "resized to every input grid (antialiased bicubic)",
        (true, false) => "resized to every input grid (bicubic)",
        _ => "resized only with --interpolate-pos-encoding",
    };
    let _ = writeln!(
        s,
        "  tokens: {}; position table {resize}",
        tokens.join(" + ")
    );
    let mut extras = Vec::new();
    if !v.patch_bias {
        extras.push("patch conv without bias");
    }
    if v.pre_norm {
        extras.push("pre_layrnorm before the encoder");
    }
    if v.layer_scale {
        extras.push("LayerScale");
    }
    if v.final_norm == FinalNorm::FirstToken {
        extras.push("last_hidden_state not normed");
    }
    if !extras.is_empty() {
        let _ = writeln!(s, "  {}", extras.join(", "));
    }
    let pooler = match (v.pooling, vit.has_pooler()) {
        (_, false) => None,
        (Pooling::Dense, true) => Some("tanh(dense(token 0))"),
        (Pooling::FirstToken, true) if v.final_norm == FinalNorm::FirstToken => {
            Some("post_layernorm(CLS)")
        }
        (Pooling::FirstToken, true) => Some("the normed CLS"),
        (Pooling::AttentionProbe, true) => Some("the attention-pooling (MAP) head"),
        (Pooling::None, true) => None,
    };
    let mut outputs = vec!["last_hidden_state".to_string()];
    if let Some(p) = pooler {
        outputs.push(format!("pooler_output = {p}"));
    }
    if let Some(e) = vit.projection_dim() {
        outputs.push(format!(
            "image_embeds [{e}] = visual_projection(pooler_output)"
        ));
    }
    if let Some(l) = vit.labels() {
        outputs.push(format!("logits [{}]", l.len()));
    }
    let _ = writeln!(s, "  outputs: {}", outputs.join(", "));
    s.push_str(")\n");
    s
}

/// Runs the subcommand.
pub fn main(args: Args) -> Result<ExitCode> {
    let loaded = args.model.load()?;
    let vit = &loaded.vit;
    let c = vit.config();
    let pooler = vit.has_pooler().then_some(c.pooler_output_size);
    let labels = vit.labels().map(|l| l.len());
    // Built whole, then written once: a closed stdout is one error, not a panic.
    let family = vit.variant().family;
    let mut out = match family {
        Family::Vit => tree(c, vit.layout(), pooler, labels),
        _ => summary(vit),
    };
    let params = vit.parameter_count();
    let gflop = 2.0 * vit.macs_per_image(c.image_size) as f64 / 1e9;
    out.push('\n');
    let _ = writeln!(
        out,
        "family            {} ({})",
        family.name(),
        class_name(family, vit.layout())
    );
    let _ = writeln!(
        out,
        "parameters        {params} ({:.1} M)",
        params as f64 / 1e6
    );
    match (loaded.files(), &loaded.source) {
        (Some((dtypes, bytes)), Source::Dir(dir)) => {
            let _ = writeln!(
                out,
                "weights           {} in {}",
                dtypes.join(", "),
                dir.display()
            );
            let _ = writeln!(
                out,
                "file size         {bytes} bytes ({:.1} MB)",
                bytes as f64 / 1e6
            );
            if dtypes.iter().any(|d| d == "I8") {
                println!(
                    "quantized         int8 (vitrs convert --dtype int8): encoder linear weights \
                     I8 per output channel with F32 `weight_scale`; run with --dtype int8 to \
                     compute in int8 (f32 dequantizes them)"
                );
            }
        }
        (_, Source::Random(arch, seed)) => {
            let _ = writeln!(
                out,
                "weights           F32, random (seed {seed}), in memory — architecture of {}",
                arch.repo
            );
        }
        _ => {}
    }
    let isa = vitrs_kernels::gemm::detect();
    let available: Vec<_> = vitrs_kernels::gemm::Isa::available()
        .iter()
        .map(|i| i.name())
        .collect();
    let _ = writeln!(
        out,
        "kernels           {isa} ({} f32 lanes); this CPU runs: {} (VITRS_ISA chooses)",
        isa.lanes(),
        available.join(", ")
    );
    let _ = match vitrs_kernels::qgemm::QIsa::summary() {
        Ok(k) => writeln!(out, "int8 kernels      {k} (--dtype int8)"),
        Err(e) => writeln!(out, "int8 kernels      none: {e}"),
    };
    let [h, w] = c.image_size;
    let _ = writeln!(
        out,
        "input             {} x {h} x {w}, patch {} x {}",
        c.num_channels, c.patch_size[0], c.patch_size[1]
    );
    let t = vit.variant().tokens;
    let mut parts = Vec::new();
    if t.cls != Cls::None {
        parts.push("1 CLS".to_string());
    }
    if t.distillation {
        parts.push("1 distillation".to_string());
    }
    if t.registers > 0 {
        parts.push(format!("{} registers", t.registers));
    }
    parts.push(format!("{} patches", c.tokens() - t.prefix()));
    let _ = writeln!(
        out,
        "tokens per image  {} ({})",
        c.tokens(),
        parts.join(" + ")
    );
    let _ = writeln!(
        out,
        "GFLOP per image   {gflop:.2} ({:.2} G multiply-adds)",
        gflop / 2.0
    );
    if let Some(labels) = vit.labels() {
        let _ = writeln!(
            out,
            "labels            {} ({}, ...)",
            labels.len(),
            labels
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    vitrs::output::print(&out)?;
    Ok(ExitCode::SUCCESS)
}
