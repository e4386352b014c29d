//! `fixture-site`: serve the Oliveyoung fixture site (or, with `--x-api`,
//! the X API fixture; with `--instagram`, the Instagram fixture) until killed, for `make demo` and manual poking. All
//! the work is in the library.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use crawlhost_tests::oliveyoung::{MAX_SCALE, Mutation, Site, serve};

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
    /// Multiply the Oliveyoung catalogue (categories, brands, products and
    /// the deliberate faults) by N, for benchmarks that should measure
    /// throughput rather than start-up; 1 is the usual site, byte for byte.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = parse_scale)]
    scale: usize,
    /// Serve the Oliveyoung catalogue with its optional markup perturbed,
    /// to see how a crawler copes with a site change: price-markup,
    /// rating-removed, soldout-renamed, discount-moved, card-wrapper,
    /// attribute-case, brand-heading-renamed or category-filter-renamed.
    #[arg(long, value_name = "MUTATION", value_parser = parse_mutation, conflicts_with_all = ["x_api", "instagram"])]
    drift: Option<Mutation>,
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
    /// Serve the Instagram fixture (JavaScript-rendered hashtag and post
    /// pages about the same seed's brands, behind a login) instead.
    #[arg(long, conflicts_with = "x_api")]
    instagram: bool,
    /// The user name and password the Instagram fixture's login accepts.
    #[arg(long, default_value = "fixture.user", requires = "instagram")]
    ig_user: String,
    #[arg(long, default_value = "fixture-password", requires = "instagram")]
    ig_password: String,
    /// How the Instagram fixture treats the crawler: `normal`, `suspicious`
    /// (the suspicious-activity popup) or `rate-limited` (HTTP 429).
    #[arg(long, default_value = "normal", requires = "instagram")]
    ig_mode: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = std::time::Instant::now();
    let site = Site::generate_scaled(args.seed, args.scale).with_mutation(args.drift);
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
    if args.instagram {
        use crawlhost_tests::instagram::{self, Corpus, Fixture, Mode};
        let mode = match args.ig_mode.as_str() {
            "normal" => Mode::Normal,
            "suspicious" => Mode::Suspicious,
            "rate-limited" => Mode::RateLimited,
            other => {
                anyhow::bail!("--ig-mode `{other}`: expected normal, suspicious or rate-limited")
            }
        };
        let brands = crawlhost_tests::twitter::BrandSeed::from_site(&site);
        let fixture = Fixture::new(
            Corpus::generate(site.seed(), &brands),
            &args.ig_user,
            &args.ig_password,
        );
        fixture.set_mode(mode);
        println!(
            "Instagram fixture listening on {base_url} (login `{}` / `{}`, mode {})",
            args.ig_user, args.ig_password, args.ig_mode
        );
        eprintln!(
            "seed {}: {} posts under {} brands' hashtags",
            site.seed(),
            fixture.corpus.posts.len(),
            brands
                .iter()
                .filter(|b| !fixture
                    .corpus
                    .tag(&instagram::tag_of(&b.name_ko))
                    .is_empty())
                .count()
        );
        if let Some(b) = brands
            .iter()
            .max_by_key(|b| fixture.corpus.tag(&instagram::tag_of(&b.name_ko)).len())
        {
            eprintln!(
                "busiest hashtag: #{} (brand {} {}, {} posts)",
                instagram::tag_of(&b.name_ko),
                b.code,
                b.name_ko,
                fixture.corpus.tag(&instagram::tag_of(&b.name_ko)).len()
            );
        }
        std::io::stdout().flush()?;
        return instagram::serve(Arc::new(fixture), listener)
            .await
            .context("the Instagram fixture stopped");
    }
    match args.drift {
        Some(m) => println!("fixture site listening on {base_url} (markup drift: {m})"),
        None => println!("fixture site listening on {base_url}"),
    }
    eprintln!(
        "seed {} scale {}: {} categories, {} brands, {} products, generated in {generated_in:?}",
        site.seed(),
        site.scale(),
        site.categories().len(),
        site.brands().len(),
        site.products().len()
    );
    std::io::stdout().flush()?;
    serve(Arc::new(site), listener)
        .await
        .context("the fixture site stopped")
}

fn parse_scale(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_SCALE).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from 1 to {MAX_SCALE}")),
    }
}

fn parse_mutation(name: &str) -> Result<Mutation, String> {
    Mutation::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Mutation::ALL.iter().map(|m| m.name()).collect();
        format!("unknown mutation `{name}`; one of: {}", names.join(", "))
    })
}
