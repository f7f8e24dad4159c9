//! One module per subcommand.

pub mod convert;
pub mod preprocess;
pub mod run;
