//! Model resolution: local folders and Hugging Face Hub ids (not written yet).
