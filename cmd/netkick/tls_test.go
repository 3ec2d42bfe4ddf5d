package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI is a CA made for the test and a server certificate it signed
// for 127.0.0.1, as PEM files.
type testPKI struct {
	ca, cert, key string
	pool          *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netkick test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "netkick test server"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "tls.crt"), key: filepath.Join(dir, "tls.key"), pool: x509.NewCertPool()}
	p.pool.AddCert(caCert)
	for path, block := range map[string]*pem.Block{
		p.ca:   {Type: "CERTIFICATE", Bytes: caDER},
		p.cert: {Type: "CERTIFICATE", Bytes: srvDER},
		p.key:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// TestServeTLS runs `netkick serve --demo` with a certificate: the CLI
// reaches the admin API over HTTPS with --ca (or NETKICK_CA) and fails
// without it naming the fix; plain HTTP refuses the API but keeps serving
// the installers' kickstarts, whose URLs stay http://; the web login over
// HTTPS sets Secure cookies.
func TestServeTLS(t *testing.T) {
	bin := buildNetkick(t)
	data := t.TempDir()
	pki := newTestPKI(t)
	st := startServeFull(t, bin, data, "--demo", "--tls-cert", pki.cert, "--tls-key", pki.key, "--https", "127.0.0.1:0")
	if !strings.HasPrefix(st.https, "https://127.0.0.1:") {
		t.Fatalf("no HTTPS address printed: %+v", st)
	}
	tokenFile := filepath.Join(data, "admin.token")
	cli := func(env []string, args ...string) (string, int) {
		return exitOf(t, bin, data, append([]string{"NETKICK_CA=", "NETKICK_SERVER=", "NETKICK_TOKEN="}, env...),
			append(args, "--token-file", tokenFile)...)
	}

	t.Run("CLI over HTTPS with --ca", func(t *testing.T) {
		out, code := cli(nil, "host", "list", "--server", st.https, "--ca", pki.ca)
		if code != 0 || !strings.Contains(out, "a01") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("CLI over HTTPS with NETKICK_CA", func(t *testing.T) {
		out, code := cli([]string{"NETKICK_CA=" + pki.ca}, "host", "list", "--server", st.https)
		if code != 0 || !strings.Contains(out, "a01") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("CLI over HTTPS without the CA fails naming --ca", func(t *testing.T) {
		out, code := cli(nil, "host", "list", "--server", st.https)
		if code != 1 || !strings.Contains(out, "not signed by a CA this machine trusts") || !strings.Contains(out, "--ca FILE") || !strings.Contains(out, "NETKICK_CA") {
			t.Fatalf("exit %d, want 1 naming --ca:\n%s", code, out)
		}
	})
	t.Run("--ca that is no certificate", func(t *testing.T) {
		out, code := cli(nil, "host", "list", "--server", st.https, "--ca", tokenFile)
		if code != 2 || !strings.Contains(out, "holds no PEM certificate") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("CLI over plain HTTP is sent to HTTPS", func(t *testing.T) {
		out, code := cli(nil, "host", "list", "--server", st.base)
		if code != 1 || !strings.Contains(out, "HTTPS only") || !strings.Contains(out, st.https) {
			t.Fatalf("exit %d, want the HTTPS URL named:\n%s", code, out)
		}
	})
	t.Run("installers stay on plain HTTP", func(t *testing.T) {
		if len(st.urls) != 4 {
			t.Fatalf("demo printed %d kickstart URLs", len(st.urls))
		}
		for _, u := range st.urls {
			if !strings.HasPrefix(u, st.base+"/ks/") {
				t.Errorf("kickstart URL %s is not on %s", u, st.base)
			}
			code, ks := get(t, u)
			if code != 200 || !strings.Contains(ks, "%post") {
				t.Fatalf("kickstart %s over HTTP: %d", u, code)
			}
			if strings.Contains(ks, "https://") {
				t.Errorf("kickstart %s points an installer at HTTPS", u)
			}
			if !strings.Contains(ks, st.base+"/api/v1/hosts/") {
				t.Errorf("kickstart %s: the install report does not go to %s", u, st.base)
			}
		}
		if code, _ := get(t, st.base+"/healthz"); code != 200 {
			t.Errorf("healthz over HTTP: %d", code)
		}
	})
	t.Run("web login over HTTPS sets Secure cookies", func(t *testing.T) {
		c := &http.Client{Timeout: 10 * time.Second,
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(st.https + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var csrf *http.Cookie
		for _, ck := range resp.Cookies() {
			if !ck.Secure {
				t.Errorf("login form cookie %s without Secure", ck.Name)
			}
			csrf = ck
		}
		if csrf == nil {
			t.Fatal("login form set no cookie")
		}
		token, err := os.ReadFile(tokenFile)
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"csrf": {csrf.Value}, "token": {strings.TrimSpace(string(token))}, "next": {"/"}}
		req, _ := http.NewRequest("POST", st.https+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(csrf)
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d, want 303", resp.StatusCode)
		}
		session := 0
		for _, ck := range resp.Cookies() {
			if ck.Value == "" {
				continue // the login form's cookie, cleared
			}
			session++
			if !ck.Secure || !ck.HttpOnly {
				t.Errorf("session cookie %s: Secure %v HttpOnly %v", ck.Name, ck.Secure, ck.HttpOnly)
			}
		}
		if session != 1 {
			t.Errorf("login set %d session cookies, want 1", session)
		}
		// The page over plain HTTP sends the browser to HTTPS.
		resp, err = c.Get(st.base + "/hosts")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != st.https+"/hosts" {
			t.Errorf("web page over HTTP: %d to %q, want 308 to %s/hosts", resp.StatusCode, resp.Header.Get("Location"), st.https)
		}
	})
}

// TestServeTLSHalf: a certificate without its key (or the reverse) is a
// usage error naming both keys.
func TestServeTLSHalf(t *testing.T) {
	bin := buildNetkick(t)
	pki := newTestPKI(t)
	out, code := exitOf(t, bin, t.TempDir(), nil, "serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--tftp", "off", "--tls-cert", pki.cert)
	if code != 2 || !strings.Contains(out, "tls_cert and tls_key go together") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
