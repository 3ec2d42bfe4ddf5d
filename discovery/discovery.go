// Package discovery holds netkick's discovery environment: the /init, the
// facts script and the udhcpc hook of the BusyBox initramfs that machines
// DHCP discovered boot (with a kernel the site provides). The facts script
// prints the JSON body of POST /api/v1/discovered/{mac}/facts.
package discovery

import "embed"

//go:embed env
var env embed.FS

// Files maps each file of the environment to its path in the initramfs.
var Files = map[string]string{
	"env/init":          "/init",
	"env/facts":         "/usr/lib/netkick/facts",
	"env/udhcpc.script": "/etc/udhcpc.script",
}

// File returns one embedded file (a key of Files).
func File(name string) []byte {
	b, err := env.ReadFile(name)
	if err != nil {
		panic("discovery: no embedded file " + name) // Files names only embedded files
	}
	return b
}

// ModulesFile is where the initramfs lists the kernel modules /init loads
// (one name a line or space-separated), in dependency order or with the
// kernel's modules.dep for modprobe.
const ModulesFile = "/etc/netkick/modules"
