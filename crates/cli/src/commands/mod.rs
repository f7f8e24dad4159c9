//! One module per subcommand.

pub mod bench;
pub mod classify;
pub mod convert;
pub mod embed;
pub mod image_args;
pub mod info;
pub mod preprocess;
pub mod run;
