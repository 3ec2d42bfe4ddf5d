package config

import (
	"reflect"
	"testing"
)

// FuzzLoad: no file content and no flag or variable text panics the
// loader; it sets the config or returns an error.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"http: \":1\"\ntoken_ttl: 1h\ndhcp:\n  mode: proxy\n  subnets:\n    - cidr: 192.0.2.0/24\n      pools: [a]\n",
		"a: &x [1]\nb: *x\n", "dhcp: [1, 2]\n", "- 1\n- 2\n", "http: {a: b}\n", "{", "",
	} {
		f.Add(s)
	}
	keys := testKeys()
	f.Fuzz(func(t *testing.T, s string) {
		cfg := defaults()
		_ = loadYAML(reflect.ValueOf(&cfg), keys, "fuzz.yaml", []byte(s))
		for _, k := range keys {
			c := defaults()
			_ = k.setText(reflect.ValueOf(&c), s, "fuzz")
		}
	})
}
