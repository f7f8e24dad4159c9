//! One module per subcommand.

pub mod bench;
pub mod classify;
pub mod completions;
pub mod convert;
pub mod embed;
pub mod image_args;
pub mod info;
pub mod model_args;
pub mod preprocess;
pub mod run;
pub mod values;

/// A command line that cannot work, found after parsing (exit code 2, as clap's own usage
/// errors).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Exit code when some inputs were skipped but the rest were done and written.
pub const SOME_SKIPPED: u8 = crate::exit::SOME_SKIPPED;

/// `vitrs embed --help` examples.
pub const EMBED_EXAMPLES: &str = "\
Examples:
  vitrs embed photos/ --model google/vit-base-patch16-224-in21k -o photos.npy
  vitrs embed a.jpg b.png --model facebook/dinov2-small --pool mean -o out.safetensors
  vitrs embed 'shots/**/*.jpg' --model openai/clip-vit-base-patch32 --normalize -o - > rows.jsonl
  vitrs embed big/ --model random:vit-base-patch16-224 --size 384 --interpolate-pos-encoding";
