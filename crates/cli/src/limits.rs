//! Command-line numbers checked against the model and the machine before any work, so a
//! typo is an error naming the flag instead of an abort, an allocation failure or a swap storm.
//!
//! - `--threads` above [`THREADS_PER_CORE`] × cores is clamped to that, with a message.
//! - `--batch` whose forward pass would need more than half the machine's memory is refused,
//!   naming the largest batch that fits ([`check_batch`]).
//! - `--size` is checked against the most tokens a model takes ([`check_size`]).

use vitrs_model::{ViTConfig, MAX_TOKENS};

use crate::{Error, Result};

/// Most worker threads per core. More only adds switching; a larger `--threads` is clamped.
pub const THREADS_PER_CORE: usize = 8;

/// Worker threads for `--threads` (`None`: `RAYON_NUM_THREADS` if it is set to a positive
/// number, else one per core), clamped to [`THREADS_PER_CORE`] × cores with a warning
/// (logged).
pub fn threads(requested: Option<usize>) -> usize {
    threads_with(
        requested,
        std::env::var("RAYON_NUM_THREADS").ok().as_deref(),
    )
}

/// [`threads`] with the value of `RAYON_NUM_THREADS` given.
fn threads_with(requested: Option<usize>, env: Option<&str>) -> usize {
    let cores = vitrs_kernels::threads::available();
    let cap = cores.saturating_mul(THREADS_PER_CORE);
    let (n, from) = match requested {
        Some(n) => (n, "--threads"),
        None => match env.and_then(|v| v.trim().parse::<usize>().ok()) {
            // As rayon: 0 (or anything that is not a number) means one per core.
            Some(n) if n > 0 => (n, "RAYON_NUM_THREADS="),
            _ => return cores,
        },
    };
    if n > cap {
        let space = if from.ends_with('=') { "" } else { " " };
        log::warn!(
            "{from}{space}{n} is more than {THREADS_PER_CORE} per core on this machine \
             ({cores} cores); using {cap}"
        );
        return cap;
    }
    n
}

/// Starts the worker pool as [`threads`] says, returning its size. Only the first call in a
/// process sets the size.
pub fn init_threads(requested: Option<usize>) -> usize {
    vitrs_kernels::threads::init(threads(requested))
}

/// Total memory of this machine in bytes (`MemTotal` of `/proc/meminfo`), if known.
pub fn memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

/// Tokens for an `[h, w]` input to `cfg` (patches + CLS), `None` on overflow.
pub fn tokens(cfg: &ViTConfig, [h, w]: [usize; 2]) -> Option<usize> {
    let [ph, pw] = cfg.patch_size;
    (h / ph.max(1)).checked_mul(w / pw.max(1))?.checked_add(1)
}

/// An estimate of the bytes one image needs in a forward pass at `[h, w]`: its pixels, the
/// residual stream and its norm, q/k/v, the MLP's hidden layer, and the attention scores and
/// probabilities of one layer (buffers are reused across layers). `None` on overflow.
pub fn bytes_per_image(cfg: &ViTConfig, size: [usize; 2]) -> Option<u64> {
    let t = tokens(cfg, size)? as u64;
    let d = cfg.hidden_size as u64;
    let i = cfg.intermediate_size as u64;
    let heads = cfg.num_attention_heads as u64;
    let pixels = (cfg.num_channels as u64)
        .checked_mul(size[0] as u64)?
        .checked_mul(size[1] as u64)?;
    let stream = t.checked_mul(d.checked_mul(8)?.checked_add(i.checked_mul(2)?)?)?;
    let scores = heads.checked_mul(t)?.checked_mul(t)?.checked_mul(2)?;
    pixels
        .checked_add(stream)?
        .checked_add(scores)?
        .checked_mul(4)
}

fn gb(bytes: u64) -> String {
    let b = bytes as f64;
    match bytes {
        0..=1023 => format!("{bytes} bytes"),
        1024..=1048575 => format!("{:.1} KB", b / 1024.0),
        1048576..=1073741823 => format!("{:.1} MB", b / 1048576.0),
        _ => format!("{:.1} GB", b / 1073741824.0),
    }
}

/// Refuses `--batch` if one forward pass of `batch` images at `[h, w]` would need more than
/// half of this machine's memory (or overflows), naming the largest batch that fits.
pub fn check_batch(batch: usize, cfg: &ViTConfig, size: [usize; 2]) -> Result<()> {
    let [h, w] = size;
    let Some(per_image) = bytes_per_image(cfg, size) else {
        return Err(Error::option(
            "--size",
            format!("{h}x{w} pixels: the forward pass's size overflows; use a smaller --size"),
        ));
    };
    // Without /proc/meminfo, a ceiling no machine of today reaches.
    let memory = memory_bytes().unwrap_or(1 << 42);
    let budget = memory / 2;
    let need = (batch as u64).checked_mul(per_image);
    if need.is_some_and(|n| n <= budget) {
        return Ok(());
    }
    let fits = budget / per_image.max(1);
    let need = need.map_or_else(
        || "more than 2^64 bytes".into(),
        |n| format!("about {}", gb(n)),
    );
    if fits == 0 {
        return Err(Error::option(
            "--size",
            format!(
                "{h}x{w} pixels: one image needs about {} for the forward pass, more than half \
                 of this machine's {} of memory; use a smaller --size",
                gb(per_image),
                gb(memory)
            ),
        ));
    }
    Err(Error::option(
        "--batch",
        format!(
            "--batch {batch}: one forward pass would need {need} ({} per image at {h}x{w}), \
             more than half of this machine's {} of memory; use --batch {fits} or less",
            gb(per_image),
            gb(memory)
        ),
    ))
}

/// Refuses `--size` when it is zero or gives more tokens than any model takes.
pub fn check_size(size: usize, cfg: &ViTConfig) -> Result<()> {
    let [ph, pw] = cfg.patch_size;
    if size < ph.max(pw) {
        return Err(Error::option(
            "--size",
            format!(
                "--size {size}: smaller than one patch ({ph}x{pw} pixels) of this model; \
                 nothing would be left to embed"
            ),
        ));
    }
    match tokens(cfg, [size, size]) {
        Some(t) if t <= MAX_TOKENS => Ok(()),
        t => Err(Error::option(
            "--size",
            format!(
                "--size {size}: {} tokens with {ph}x{pw} patches, more than the {MAX_TOKENS} \
                 vitrs accepts (the attention matrix grows with the square of the tokens)",
                t.map_or_else(|| "an overflowing number of".into(), |t| t.to_string())
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// transformers' defaults: ViT-base, 224x224, 16x16 patches.
    fn base() -> ViTConfig {
        ViTConfig::default()
    }

    #[test]
    fn huge_numbers_are_errors_naming_the_flag() {
        let cfg = base();
        let e = check_batch(1_000_000_000_000, &cfg, [224, 224])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--batch 1000000000000:") && e.contains("or less"),
            "{e}"
        );
        assert!(check_batch(1, &cfg, [224, 224]).is_ok());
        let e = check_size(4294967296, &cfg).unwrap_err().to_string();
        assert!(e.starts_with("--size 4294967296:"), "{e}");
        assert!(check_size(usize::MAX, &cfg).is_err());
        assert!(check_size(0, &cfg).is_err());
        assert!(check_size(384, &cfg).is_ok());
        assert!(bytes_per_image(&cfg, [usize::MAX, usize::MAX]).is_none());
    }

    #[test]
    fn threads_are_clamped_to_a_multiple_of_the_cores() {
        let cores = vitrs_kernels::threads::available();
        assert_eq!(threads(Some(usize::MAX)), cores * THREADS_PER_CORE);
        assert_eq!(threads(Some(1)), 1);
        assert_eq!(threads_with(None, None), cores);
        // RAYON_NUM_THREADS when --threads is not given; --threads wins; junk and 0 mean
        // one per core, as in rayon.
        assert_eq!(threads_with(None, Some("1")), 1);
        assert_eq!(threads_with(Some(2), Some("1")), 2);
        assert_eq!(threads_with(None, Some("0")), cores);
        assert_eq!(threads_with(None, Some("x")), cores);
        assert_eq!(
            threads_with(None, Some("99999999")),
            cores * THREADS_PER_CORE
        );
    }
}
