//! One module per subcommand.

pub mod bench;
pub mod convert;
pub mod info;
pub mod preprocess;
pub mod run;
