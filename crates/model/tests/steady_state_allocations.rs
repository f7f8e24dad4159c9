//! After warm-up, a forward pass allocates only its outputs: every buffer of the pass itself
//! (activations, packed X, attention scores and packed heads) comes from workspaces kept
//! between calls. A counting allocator measures it; this file holds a single test so that
//! no other test allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use safetensors::tensor::{Dtype, TensorView};
use vitrs_model::{ForwardOptions, ViT};
use vitrs_tensor::Tensor;

struct Counting;

static BYTES: AtomicUsize = AtomicUsize::new(0);
static CALLS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        BYTES.fetch_add(new_size, Ordering::Relaxed);
        CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// A 4-layer ViT (D = 96, 3 heads, 65 tokens) with seeded weights, large enough that its
/// linears take the multi-worker paths.
fn write_model(dir: &std::path::Path) {
    let config = r#"{"model_type": "vit", "hidden_size": 96, "num_hidden_layers": 4,
        "num_attention_heads": 3, "intermediate_size": 384, "hidden_act": "gelu",
        "image_size": 64, "patch_size": 8, "num_channels": 3, "qkv_bias": true,
        "layer_norm_eps": 1e-12}"#;
    std::fs::write(dir.join("config.json"), config).unwrap();
    let (d, i) = (96usize, 384usize);
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("embeddings.cls_token".into(), vec![1, 1, d]),
        ("embeddings.position_embeddings".into(), vec![1, 65, d]),
        (
            "embeddings.patch_embeddings.projection.weight".into(),
            vec![d, 3, 8, 8],
        ),
        (
            "embeddings.patch_embeddings.projection.bias".into(),
            vec![d],
        ),
        ("layernorm.weight".into(), vec![d]),
        ("layernorm.bias".into(), vec![d]),
        ("pooler.dense.weight".into(), vec![d, d]),
        ("pooler.dense.bias".into(), vec![d]),
    ];
    for l in 0..4 {
        let p = format!("encoder.layer.{l}.");
        for (name, dims) in [
            ("attention.attention.query.weight", vec![d, d]),
            ("attention.attention.query.bias", vec![d]),
            ("attention.attention.key.weight", vec![d, d]),
            ("attention.attention.key.bias", vec![d]),
            ("attention.attention.value.weight", vec![d, d]),
            ("attention.attention.value.bias", vec![d]),
            ("attention.output.dense.weight", vec![d, d]),
            ("attention.output.dense.bias", vec![d]),
            ("intermediate.dense.weight", vec![i, d]),
            ("intermediate.dense.bias", vec![i]),
            ("output.dense.weight", vec![d, i]),
            ("output.dense.bias", vec![d]),
            ("layernorm_before.weight", vec![d]),
            ("layernorm_before.bias", vec![d]),
            ("layernorm_after.weight", vec![d]),
            ("layernorm_after.bias", vec![d]),
        ] {
            shapes.push((format!("{p}{name}"), dims));
        }
    }
    let mut seed = 7u64;
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = shapes
        .into_iter()
        .map(|(name, dims)| {
            let n: usize = dims.iter().product();
            let bytes = (0..n)
                .flat_map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (((seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2).to_le_bytes()
                })
                .collect();
            (name, dims, bytes)
        })
        .collect();
    let views: Vec<(String, TensorView)> = data
        .iter()
        .map(|(n, dims, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, dims.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::tensor::serialize_to_file(views, &None, &dir.join("model.safetensors")).unwrap();
}

#[test]
fn a_warm_forward_allocates_only_its_outputs() {
    vitrs_kernels::threads::init(2);
    let tmp = tempfile::TempDir::new().unwrap();
    write_model(tmp.path());
    let vit = ViT::load(tmp.path()).unwrap();
    let batch = 2;
    let pixels: Vec<f32> = (0..batch * 3 * 64 * 64)
        .map(|i| ((i * 7919) % 255) as f32 / 127.0 - 1.0)
        .collect();
    let input = Tensor::new(&[batch, 3, 64, 64], pixels).unwrap();
    let opts = ForwardOptions::default();
    for _ in 0..3 {
        vit.forward(&input, &opts).unwrap();
    }
    // last_hidden_state [2, 65, 96], the CLS rows [2, 96] and pooler_output [2, 96].
    let outputs = 4 * (batch * 65 * 96 + 2 * batch * 96);
    // The workspaces are per thread and only grow: a pool worker that meets a task shape for
    // the first time (which one runs what depends on scheduling: on a loaded machine a worker
    // can sit out the whole warm-up) grows its buffers once. Such growths are finitely many
    // (threads × workspaces × shapes, far fewer than 32), so among 32 forward passes one that
    // allocates only its outputs must come, unless every pass allocates something of its
    // own — the fault this test is for. (Three warm-ups alone failed once in CI.)
    let mut least = (usize::MAX, usize::MAX);
    for _ in 0..32 {
        let (b0, c0) = (BYTES.load(Ordering::SeqCst), CALLS.load(Ordering::SeqCst));
        let out = vit.forward(&input, &opts).unwrap();
        let (bytes, calls) = (
            BYTES.load(Ordering::SeqCst) - b0,
            CALLS.load(Ordering::SeqCst) - c0,
        );
        assert!(out.pooler_output.is_some());
        least = least.min((bytes, calls));
        if bytes <= outputs + 4096 && calls <= 16 {
            break;
        }
    }
    let (bytes, calls) = least;
    assert!(
        bytes <= outputs + 4096 && calls <= 16,
        "every warm forward of 32 allocated more than its outputs ({outputs} bytes): the least \
         was {bytes} bytes in {calls} calls"
    );
}
