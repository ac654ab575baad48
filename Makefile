# The README's two commands: `make play` and `make test`. Both set up what
# they need first (see .ci/setup.sh), skipping what is installed.
.PHONY: play test setup bench fmt lint

play:
	./.ci/play.sh

test:
	./.ci/test.sh

setup:
	./.ci/setup.sh

bench:
	cargo bench -p protocol

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --exclude web --all-targets --all-features -- -D warnings
