//! `fixture-site`: serve the Oliveyoung fixture site (or, with `--x-api`,
//! the X API fixture) until killed, for `make demo` and manual poking. All
//! the work is in the library.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use crawlhost_tests::oliveyoung::{Site, serve};

/// Serve a deterministic, seeded imitation of www.oliveyoung.co.kr
/// (24 categories, 300 brands, 5,000 products, with deliberate faults) on a
/// local address, until killed.
#[derive(Debug, Parser)]
#[command(name = "fixture-site", version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Seed of the generated site: the same seed serves the same site.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Write the base URL (`http://HOST:PORT`) to this file once listening.
    #[arg(long)]
    url_file: Option<PathBuf>,
    /// Serve the X API v2 recent-search fixture (tweets about the same
    /// seed's brands) instead of the Oliveyoung site.
    #[arg(long)]
    x_api: bool,
    /// The bearer token the X API fixture accepts.
    #[arg(long, default_value = "fixture-token", requires = "x_api")]
    x_token: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = std::time::Instant::now();
    let site = Site::generate(args.seed);
    let generated_in = started.elapsed();
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let base_url = format!("http://{}", listener.local_addr()?);
    if let Some(path) = &args.url_file {
        // Write then rename, so a script polling for the file never reads
        // half a URL.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &base_url)
            .and_then(|()| std::fs::rename(&tmp, path))
            .with_context(|| format!("cannot write the URL to {}", path.display()))?;
    }
    if args.x_api {
        let corpus = crawlhost_tests::twitter::Corpus::from_site(&site);
        println!(
            "X API fixture listening on {base_url} (bearer token `{}`)",
            args.x_token
        );
        eprintln!(
            "seed {}: {} brands, {} tweets, {} users",
            site.seed(),
            corpus.brands().len(),
            corpus.tweets().len(),
            corpus.users().len()
        );
        std::io::stdout().flush()?;
        let api = crawlhost_tests::twitter::Api::new(
            corpus,
            crawlhost_tests::twitter::ApiConfig {
                token: args.x_token,
                rate_limit: None,
            },
        );
        return crawlhost_tests::twitter::serve(Arc::new(api), listener)
            .await
            .context("the X API fixture stopped");
    }
    println!("fixture site listening on {base_url}");
    eprintln!(
        "seed {}: {} categories, {} brands, {} products, generated in {generated_in:?}",
        site.seed(),
        site.categories().len(),
        site.brands().len(),
        site.products().len()
    );
    std::io::stdout().flush()?;
    serve(Arc::new(site), listener)
        .await
        .context("the fixture site stopped")
}
