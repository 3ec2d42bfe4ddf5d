// Package hostile replays, in network namespaces, what an attacker on the
// provisioning network tries against a running `netkick serve`: harvesting
// build tokens from boot configs, fetching a kickstart or reporting an
// install from the wrong machine, exhausting HTTP connections, flooding
// TFTP from one address, flooding timelines, and sending control bytes to
// a terminal. Each test asserts that the attack fails and that a
// well-behaved client (curl, atftp, tftp-hpa) on the same segment is still
// served within a bound. It holds tests only.
package hostile
