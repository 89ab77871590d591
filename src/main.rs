use clap::Parser;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    exalate::cli::run(exalate::cli::Cli::parse()).await
}
