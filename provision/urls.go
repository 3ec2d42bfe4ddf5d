package provision

import (
	"fmt"
	"net/url"
	"strings"
)

// URLs builds every URL a machine is given (kickstart, build token, install
// report, boot files, repositories, the iPXE script) from one public base
// URL, so what a machine is told and what the CLI shows cannot differ.
type URLs struct{ base string }

// NewURLs checks base (http:// or https://, a host, no query) and returns the builder.
func NewURLs(base string) (URLs, error) {
	b := strings.TrimRight(strings.TrimSpace(base), "/")
	u, err := url.Parse(b)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return URLs{}, fmt.Errorf("public URL %q: want http://HOST[:PORT][/PATH] as the installers reach netkick, e.g. http://192.0.2.1:8080 (set --public-url)", base)
	}
	return URLs{base: b}, nil
}

// Base is the public base URL without a trailing slash ("" for the zero URLs).
func (u URLs) Base() string { return u.base }

// Or returns u, or the builder for fallback when u is the zero value.
func (u URLs) Or(fallback string) URLs {
	if u.base != "" {
		return u
	}
	return URLs{base: strings.TrimRight(fallback, "/")}
}

func tokenQuery(token string) string {
	if token == "" {
		return ""
	}
	return "?token=" + url.QueryEscape(token)
}

// Kickstart is the host's kickstart URL, with its build token when it has one.
func (u URLs) Kickstart(mac, token string) string {
	return u.base + "/ks/" + url.PathEscape(mac) + tokenQuery(token)
}

// Report is the install report URL: kind "built" or "failed".
func (u URLs) Report(mac, kind, token string) string {
	return u.base + "/api/v1/hosts/" + url.PathEscape(mac) + "/" + kind + tokenQuery(token)
}

// BootRoot is the HTTP prefix of the boot tree, with its trailing slash.
func (u URLs) BootRoot() string { return u.base + "/boot/" }

// Repo is the base URL of the yum repository name, with its trailing slash.
func (u URLs) Repo(name string) string { return u.base + "/repo/" + url.PathEscape(name) + "/" }

// IPXEScript is the iPXE script URL of a MAC (and platform, when known).
func (u URLs) IPXEScript(mac, platform string) string {
	q := url.Values{"mac": {mac}}
	if platform != "" {
		q.Set("platform", platform)
	}
	return u.base + "/boot.ipxe?" + q.Encode()
}
