// Package redact keeps secrets out of log lines: it replaces the values of
// secret-bearing query parameters (build tokens, passwords) in a request
// path with REDACTED, and names the keys that count as secret.
package redact

import (
	"net/url"
	"strings"
)

// Mark replaces a secret value in a log line.
const Mark = "REDACTED"

// secretWords are the parts of a parameter or field name that make its
// value secret.
var secretWords = [...]string{"token", "password", "passwd", "secret", "hash", "key", "auth", "session", "csrf", "cookie"}

// IsSecretKey reports whether a query parameter or field named k carries a
// secret (token, password, hash, key, …), whatever its case.
func IsSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Target is path?query with the values of secret parameters replaced by
// Mark. The query is rewritten parameter by parameter as it came (order,
// spelling and unparsable pieces kept, except that an unparsable piece is
// replaced whole: it may hold a secret that no key names).
func Target(path, rawQuery string) string {
	if rawQuery == "" {
		return path
	}
	return path + "?" + Query(rawQuery)
}

// Query is rawQuery with the values of secret parameters replaced by Mark.
func Query(rawQuery string) string {
	parts := strings.Split(rawQuery, "&")
	for i, p := range parts {
		if p == "" {
			continue
		}
		k, _, hasValue := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		switch {
		case err != nil:
			parts[i] = Mark
		case IsSecretKey(name) && hasValue:
			parts[i] = k + "=" + Mark
		case IsSecretKey(name):
			parts[i] = Mark
		}
	}
	return strings.Join(parts, "&")
}

// URL is a full URL (as given to a machine) with its secret parameters
// replaced by Mark; a string that does not parse is replaced whole.
func URL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return Mark
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), Mark)
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = Query(u.RawQuery)
	}
	return u.String()
}

// Text is free text (an error's message, for a log line) with the secrets
// the functions above find replaced by Mark, word by word (words are split
// at white space; quotes and brackets around a word are kept): a URL as URL
// does, a path?query as Target does, and key=value pairs (&-separated) as
// Query does. Everything else is left as it was.
func Text(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexFunc(s, isSpace)
		if i < 0 {
			i = len(s)
		}
		b.WriteString(word(s[:i]))
		s = s[i:]
		j := strings.IndexFunc(s, func(r rune) bool { return !isSpace(r) })
		if j < 0 {
			j = len(s)
		}
		b.WriteString(s[:j])
		s = s[j:]
	}
	return b.String()
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// word redacts one word of Text, its surrounding punctuation kept.
func word(w string) string {
	const around = "\"'`()[]<>{},;:."
	core := strings.TrimLeft(w, around)
	lead := w[:len(w)-len(core)]
	core = strings.TrimRight(core, around)
	trail := w[len(lead)+len(core):]
	path, q, hasQuery := strings.Cut(core, "?")
	switch {
	case strings.Contains(core, "://"):
		if r := URL(core); strings.Contains(r, Mark) { // else as it was, not normalised
			core = r
		}
	case hasQuery && !strings.Contains(path, "="):
		core = Target(path, q)
	case strings.Contains(core, "="):
		core = Query(core)
	}
	return lead + core + trail
}
