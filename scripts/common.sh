# Sourced by the scripts in this folder: run as root, install what the workshop needs.

set -euo pipefail
# Absolute before the cd below, so as_root can re-run the script from anywhere.
script=$(realpath "$0")
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Re-run the calling script through sudo when not root: namespaces, mounts and cgroups are
# root-only, and so are the package installs.
as_root() {
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "$0: needs root and sudo is not installed; run it as root" >&2; exit 1; }
        exec sudo -E env "PATH=$PATH" bash "$script" "$@"
    fi
}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# Debian packages, installed only when missing. The main job (scripts/setup) needs:
#   util-linux: setpriv; coreutils: timeout; procps: ps for the labs; curl: the demo's answer;
#   iproute2, iptables: container networking; busybox-static: the busybox image;
#   fonts-noto-cjk: the Chinese edition of the book (and its figures) renders with real glyphs.
SETUP_PACKAGES=(util-linux coreutils procps curl iproute2 iptables busybox-static runc fonts-noto-cjk)
# The tests (scripts/test) need besides:
#   skopeo, umoci: the OCI tools the image store is tested against;
#   docker-registry (the reference distribution server), apache2-utils (htpasswd), openssl: registry tests;
#   docker.io: interop tests with a private dockerd;
#   golang-github-docker-docker-dev: Docker's own seccomp default.json, the fixture
#   tests/security.rs compares our default profile with.
#   runc, containerd, podman: tests/oci_runtime.rs runs bundles with runc next to
#   minidocker-runc, and a private containerd, dockerd and Podman drive minidocker-runc.
TEST_PACKAGES=(skopeo umoci docker-registry apache2-utils openssl docker.io golang-github-docker-docker-dev runc containerd podman)
MDBOOK_VERSION=0.5.4
# mdbook-i18n-helpers (mdbook-xgettext, mdbook-gettext: the Chinese edition, po/README.md): 0.4.0
# is the first release on mdBook 0.5's preprocessor and renderer crates; 0.3.x needs mdBook 0.4.
I18N_HELPERS_VERSION=0.4.0

# Install the given Debian packages, those that are missing only.
install_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "Installing ${missing[*]}"
        # Wait for another apt (an unattended upgrade, a second script) instead of failing.
        apt-get -o DPkg::Lock::Timeout=300 update -qq
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
            --no-install-recommends "${missing[@]}"
    fi
}

# What the main job needs: its packages, Rust, mdBook.
install_deps() {
    install_packages "${SETUP_PACKAGES[@]}"
    command -v cargo >/dev/null || { echo "$0: cargo not found: install Rust first (https://rustup.rs)" >&2; exit 1; }
    install_book_tools
}

# mdBook builds the book, mdbook-i18n-helpers its Chinese edition; cargo install caches them in
# ~/.cargo/bin, so this runs once. Needs no root (scripts/i18n calls it too).
install_book_tools() {
    if [ "$(mdbook --version 2>/dev/null)" != "mdbook v$MDBOOK_VERSION" ]; then
        say "Installing mdbook $MDBOOK_VERSION (once; about two minutes)"
        cargo install mdbook --version "$MDBOOK_VERSION" --locked --no-default-features --features search --quiet
    fi
    if ! cargo install --list | grep -qx "mdbook-i18n-helpers v$I18N_HELPERS_VERSION:"; then
        say "Installing mdbook-i18n-helpers $I18N_HELPERS_VERSION (once; about two minutes)"
        cargo install mdbook-i18n-helpers --version "$I18N_HELPERS_VERSION" --locked \
            --bin mdbook-xgettext --bin mdbook-gettext --quiet
    fi
}

# What the tests need besides: their packages, and the formatter and linter the test command
# runs (a minimal Rust install lacks both).
install_test_deps() {
    install_deps
    install_packages "${TEST_PACKAGES[@]}"
    if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
        command -v rustup >/dev/null || { echo "$0: cargo fmt and cargo clippy are missing: install rustfmt and clippy for your Rust" >&2; exit 1; }
        say "Installing rustfmt and clippy"
        rustup component add rustfmt clippy
    fi
}
