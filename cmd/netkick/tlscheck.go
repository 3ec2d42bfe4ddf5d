package main

import (
	"time"

	"github.com/netkick/netkick/httpd"
	"github.com/netkick/netkick/provision/check"
)

// tlsFacts is what `netkick check` learns of the HTTPS certificate.
type tlsFacts struct {
	Cert, Key string    // the configured files
	LoadErr   string    // the files do not load as a certificate and its key
	NotAfter  time.Time // the certificate's expiry
}

// readTLSFacts loads the certificate the config names (nil: no HTTPS).
func readTLSFacts(cfg serveConfig) *tlsFacts {
	if cfg.TLSCert == "" && cfg.TLSKey == "" {
		return nil
	}
	f := &tlsFacts{Cert: cfg.TLSCert, Key: cfg.TLSKey}
	if f.Cert == "" || f.Key == "" {
		return f
	}
	c, err := httpd.LoadCertificate(f.Cert, f.Key)
	if err != nil {
		f.LoadErr = err.Error()
		return f
	}
	leaf, err := c.Leaf()
	if err != nil {
		f.LoadErr = err.Error()
		return f
	}
	f.NotAfter = leaf.NotAfter
	return f
}

// tlsRenewBefore is how long before its expiry a certificate is reported.
const tlsRenewBefore = 14 * 24 * time.Hour

// tlsProblems decides what is wrong with the HTTPS setup at now.
func tlsProblems(f *tlsFacts, now time.Time) []check.Problem {
	if f == nil {
		return nil
	}
	p := func(subject, problem, fix string) []check.Problem {
		return []check.Problem{{Check: "tls", Subject: subject, Problem: problem, Fix: fix}}
	}
	switch {
	case f.Cert == "" || f.Key == "":
		return p("tls_cert/tls_key", "only one of tls_cert and tls_key is set: serve refuses to start",
			"set both (a PEM certificate and its key) or neither")
	case f.LoadErr != "":
		return p(f.Cert, f.LoadErr, "point tls_cert and tls_key at a PEM certificate and its own key, readable by the user serve runs as")
	case !now.Before(f.NotAfter):
		return p(f.Cert, "the certificate expired on "+f.NotAfter.UTC().Format(time.DateOnly)+": the CLI and browsers refuse it",
			"renew it, then systemctl reload netkick")
	case f.NotAfter.Sub(now) < tlsRenewBefore:
		return p(f.Cert, "the certificate expires on "+f.NotAfter.UTC().Format(time.DateOnly),
			"renew it, then systemctl reload netkick")
	}
	return nil
}
