# The README's two commands: `make play` and `make test`. Each sets up only
# what it needs first (.ci/setup.sh play / test), skipping what is installed,
# and ends with each step's time.
.PHONY: play test setup setup-play measure-setup bench fmt lint

play:
	./.ci/play.sh

test:
	./.ci/test.sh

setup:
	./.ci/setup.sh test

setup-play:
	./.ci/setup.sh play

# Times compiling trunk and wasm-bindgen-cli each way setup can (minutes; run
# it on a quiet machine). Results: target/measure-setup.md.
measure-setup:
	./.ci/measure-setup.sh

bench:
	cargo bench -p protocol

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --exclude web --all-targets --all-features -- -D warnings
