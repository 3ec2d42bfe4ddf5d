package main

import "testing"

// FuzzDecodeDump: the import parser never panics, and what it accepts either
// validates or is refused with an error.
func FuzzDecodeDump(f *testing.F) {
	f.Add(string(demoYAML))
	f.Add("hosts:\n  - macs: [zz]\n")
	f.Add("profiles: [{name: x, os: centos, version: '5'}]\nbogus: 1\n")
	f.Fuzz(func(t *testing.T, in string) {
		d, err := decodeDump([]byte(in))
		if err != nil {
			return
		}
		_ = d.Validate()
	})
}
