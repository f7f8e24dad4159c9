//! The ViT graph.
