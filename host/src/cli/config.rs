//! `crawlhost config check`: parse and check the configuration, print the
//! effective configuration with secrets hidden.

use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and check the configuration; print the effective
    /// configuration as TOML, every secret shown as "***".
    Check,
}

/// `crawlhost config ...`. The configuration was checked before this is
/// called (a bad one never gets here).
pub(super) fn config(config: &Config, command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Check => {
            print!("{}", check_text(config, &|name| std::env::var(name).ok()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// What `config check` prints, secrets looked up through `env`.
fn check_text(config: &Config, env: &dyn Fn(&str) -> Option<String>) -> String {
    format!("# configuration OK\n{}", config.summary(env))
}

#[cfg(test)]
mod tests {
    use super::super::Command;
    use super::super::tests::parse;
    use super::*;

    #[test]
    fn config_needs_a_subcommand_and_check_takes_no_arguments() {
        assert!(matches!(
            parse(&["config", "check"]).unwrap().command,
            Command::Config {
                command: ConfigCommand::Check
            }
        ));
        let err = parse(&["config"]).unwrap_err();
        assert_eq!(
            err.kind(),
            clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
        let err = parse(&["config", "check", "extra"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn the_check_says_ok_before_the_effective_configuration() {
        let text = check_text(&Config::default(), &|_| None);
        assert!(text.starts_with("# configuration OK\n"), "{text}");
        assert!(text.len() > "# configuration OK\n".len(), "{text}");
    }
}
