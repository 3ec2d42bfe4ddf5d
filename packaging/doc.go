// Package packaging holds what the netkick .deb and .rpm are made of (the
// nfpm recipe, the systemd unit, the default config, the maintainer scripts)
// and the tests that build both packages with scripts/package.sh, install the
// .deb into a fresh root and check the unit with systemd-analyze. It has no
// Go code of its own.
package packaging
