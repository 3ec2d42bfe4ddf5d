// Package urls is the one builder of every URL a machine is given: its
// kickstart (with its build token), the install report, boot files, the
// install tree, repositories and the iPXE script, all from one public base
// URL. It is a leaf (standard library only), so the renderers and the boot
// decisions use the same builder as provision and the servers.
package urls

import (
	"fmt"
	"net/url"
	"strings"
)

// URLs builds URLs under one base. The zero value has an empty base.
type URLs struct{ base string }

// New checks base (http:// or https://, a host, no query, no user) and returns the builder.
func New(base string) (URLs, error) {
	b := strings.TrimRight(strings.TrimSpace(base), "/")
	u, err := url.Parse(b)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return URLs{}, fmt.Errorf("public URL %q: want http://HOST[:PORT][/PATH] as the installers reach netkick, e.g. http://192.0.2.1:8080 (set --public-url)", base)
	}
	return URLs{base: b}, nil
}

// Base returns the builder for base as given (trailing slashes dropped),
// unchecked: for bases netkick made itself, such as a DHCP server's address.
func Base(base string) URLs { return URLs{base: strings.TrimRight(base, "/")} }

// Base is the public base URL without a trailing slash.
func (u URLs) Base() string { return u.base }

// IsZero reports whether u has no base.
func (u URLs) IsZero() bool { return u.base == "" }

// Or returns u, or the builder for fallback when u has no base.
func (u URLs) Or(fallback string) URLs {
	if u.base != "" {
		return u
	}
	return Base(fallback)
}

// tokenQuery is ?token=… with the value escaped, or nothing for no token.
func tokenQuery(token string) string {
	if token == "" {
		return ""
	}
	return "?token=" + url.QueryEscape(token)
}

// Kickstart is a host's kickstart URL, with its build token when it has one.
func (u URLs) Kickstart(mac, token string) string {
	return u.base + "/ks/" + mac + tokenQuery(token)
}

// Report is the install report URL: kind "built" or "failed".
func (u URLs) Report(mac, kind, token string) string {
	return u.base + "/api/v1/hosts/" + mac + "/" + kind + tokenQuery(token)
}

// Facts is where a discovered machine's discovery environment POSTs its
// hardware facts, with its per-boot token.
func (u URLs) Facts(mac, token string) string {
	return u.base + "/api/v1/discovered/" + mac + "/facts" + tokenQuery(token)
}

// BootRoot is the HTTP prefix of the boot tree, with its trailing slash.
func (u URLs) BootRoot() string { return u.base + "/boot/" }

// BootFile is the HTTP URL of a file under the boot root.
func (u URLs) BootFile(name string) string { return u.BootRoot() + strings.TrimLeft(name, "/") }

// InstallTree is the default install tree of a profile: its directory under the boot root.
func (u URLs) InstallTree(profile string) string { return u.BootFile(profile + "/os/") }

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
