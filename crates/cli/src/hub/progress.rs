//! The download progress bar: one per file, on stderr, hidden when stderr is not a terminal.
//! Without the `progress` feature there is no bar; each download is logged (info level).

#[cfg(feature = "progress")]
use indicatif::{ProgressBar, ProgressStyle};

/// Without the `progress` feature: a log line per file instead of a bar.
#[cfg(not(feature = "progress"))]
pub struct FileBar {
    label: String,
}

#[cfg(not(feature = "progress"))]
impl FileBar {
    /// A file labelled `label` (e.g. `org/name model.safetensors`).
    pub fn new(label: String) -> Self {
        FileBar { label }
    }
}

#[cfg(not(feature = "progress"))]
impl hf_hub::api::Progress for FileBar {
    fn init(&mut self, size: usize, _filename: &str) {
        log::info!("downloading {} ({size} bytes)", self.label);
    }

    fn update(&mut self, _size: usize) {}

    fn finish(&mut self) {}
}

/// A progress bar for one file, fed by `hf-hub`'s download loop.
#[cfg(feature = "progress")]
pub struct FileBar {
    bar: ProgressBar,
    label: String,
}

#[cfg(feature = "progress")]
impl FileBar {
    /// A bar labelled `label` (e.g. `org/name model.safetensors`); drawn on stderr only when
    /// it is a terminal.
    pub fn new(label: String) -> Self {
        let style = ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = ProgressBar::new(0).with_style(style);
        FileBar { bar, label }
    }
}

#[cfg(feature = "progress")]
impl hf_hub::api::Progress for FileBar {
    fn init(&mut self, size: usize, _filename: &str) {
        // hf-hub calls `init` again (then `update(bytes already on disk)`) at every resume;
        // starting from zero keeps the position right instead of counting twice.
        self.bar.set_length(size as u64);
        self.bar.set_position(0);
        self.bar.set_message(self.label.clone());
    }

    fn update(&mut self, size: usize) {
        self.bar.inc(size as u64);
    }

    fn finish(&mut self) {
        self.bar.finish();
    }
}

#[cfg(all(test, feature = "progress"))]
mod tests {
    use super::*;
    use hf_hub::api::Progress;

    #[test]
    fn resume_does_not_double_count() {
        let mut bar = FileBar::new("org/m model.safetensors".into());
        bar.init(100, "model.safetensors");
        bar.update(40);
        // A resume: init, then the bytes already on disk.
        bar.init(100, "model.safetensors");
        bar.update(40);
        bar.update(60);
        assert_eq!(bar.bar.position(), 100);
        bar.finish();
    }
}
