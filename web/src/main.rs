//! Entry point trunk builds: mounts the playground.

fn main() {
    web::run();
}
