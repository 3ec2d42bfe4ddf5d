package lvs

import (
	"fmt"
	"strings"
)

// File is one file a role writes on the installed machine.
type File struct {
	Path    string
	Mode    string // octal, e.g. 0644
	Content string
}

// ARPSysctls are the lines a direct-routing real server needs so that it
// never answers ARP for the VIPs on its loopback (the "LVS ARP problem"):
// arp_ignore=1 answers only for addresses of the asking interface,
// arp_announce=2 never uses a loopback address as the ARP source.
func ARPSysctls() []string {
	return []string{
		"net.ipv4.conf.lo.arp_ignore = 1",
		"net.ipv4.conf.lo.arp_announce = 2",
		"net.ipv4.conf.all.arp_ignore = 1",
		"net.ipv4.conf.all.arp_announce = 2",
	}
}

// Where a real server's settings go, per release.
const (
	// SysctlConf is read by rc.sysinit (`sysctl -p`) on EL5 and EL6.
	SysctlConf = "/etc/sysctl.conf"
	// SysctlDropIn is read by systemd-sysctl.service on EL7 and later.
	SysctlDropIn = "/etc/sysctl.d/90-netkick-lvs.conf"
	// VIPUnitName is the oneshot unit that puts the VIPs on lo on EL8 and later.
	VIPUnitName = "netkick-lvs-vip.service"
	VIPUnitPath = "/etc/systemd/system/" + VIPUnitName
)

// VIPMechanism says how a real server of OS major version major brings its
// VIPs up on lo at boot.
type VIPMechanism string

// The VIP mechanisms.
const (
	// VIPIfcfg: ifcfg-lo:N files, brought up by network-scripts (initscripts'
	// ifup-aliases), which EL5, EL6 and EL7 run at boot.
	VIPIfcfg VIPMechanism = "ifcfg"
	// VIPUnit: a systemd oneshot unit running `ip addr add`. EL8 does not
	// install network-scripts by default and EL9 has none; NetworkManager
	// leaves lo alone (keyfiles for lo exist only from NM 1.42, EL 9.2).
	VIPUnit VIPMechanism = "systemd-unit"
)

// VIPMechanismFor is the mechanism of OS major version major.
func VIPMechanismFor(major int) VIPMechanism {
	if major >= 8 {
		return VIPUnit
	}
	return VIPIfcfg
}

// SysctlPathFor is the file the ARP sysctls go to on OS major version major.
func SysctlPathFor(major int) string {
	if major >= 7 {
		return SysctlDropIn
	}
	return SysctlConf
}

// RealServerFiles returns what puts vips (from RealServerVIPs) on lo at
// boot on OS major version major: one ifcfg-lo:N file per VIP (DEVICE,
// IPADDR, NETMASK 255.255.255.255, ONBOOT=yes) up to EL7, the VIPUnitPath
// unit from EL8 on. Nothing without VIPs.
func RealServerFiles(vips []VIP, major int) []File {
	if len(vips) == 0 {
		return nil
	}
	if VIPMechanismFor(major) == VIPUnit {
		return []File{{Path: VIPUnitPath, Mode: "0644", Content: RenderVIPUnit(vips)}}
	}
	var out []File
	for _, v := range vips {
		out = append(out, File{
			Path: "/etc/sysconfig/network-scripts/ifcfg-" + v.LoAlias,
			Mode: "0644",
			Content: fmt.Sprintf("DEVICE=%s\nIPADDR=%s\nNETMASK=255.255.255.255\nONBOOT=yes\nNAME=%s\n",
				v.LoAlias, v.Addr, "lvs-vip-"+strings.ReplaceAll(v.LoAlias, ":", "-")),
		})
	}
	return out
}

// RenderVIPUnit is the oneshot unit adding each VIP to lo (as /32, labelled
// lo:N like the ifcfg aliases) after systemd-sysctl has set arp_ignore and
// arp_announce, before the network is up; stopping it removes them.
func RenderVIPUnit(vips []VIP) string {
	var b strings.Builder
	b.WriteString("[Unit]\nDescription=LVS direct-routing VIPs on lo (written by netkick)\n")
	b.WriteString("After=systemd-sysctl.service network-pre.target\nWants=network-pre.target\nBefore=network.target\n\n")
	b.WriteString("[Service]\nType=oneshot\nRemainAfterExit=yes\n")
	for _, v := range vips {
		fmt.Fprintf(&b, "ExecStart=/usr/sbin/ip addr replace %s/32 dev lo label %s\n", v.Addr, v.LoAlias)
	}
	for _, v := range vips {
		fmt.Fprintf(&b, "ExecStop=/usr/sbin/ip addr del %s/32 dev lo\n", v.Addr)
	}
	b.WriteString("\n[Install]\nWantedBy=multi-user.target\n")
	return b.String()
}

// Piranha paths on a director.
const (
	HtaccessPath      = "/etc/sysconfig/ha/web/secure/.htaccess"
	PiranhaPasswdPath = "/etc/sysconfig/ha/conf/piranha.passwd"
	KeepalivedPath    = "/etc/keepalived/keepalived.conf"
)

// RenderHtaccess limits the piranha GUI to the cluster's admin network
// (Apache 2.2 mod_access syntax, as piranha-gui runs it); without one, only
// the director itself may connect.
func RenderHtaccess(p *Plan) string {
	allow := "127.0.0.1"
	if p.Cluster.AdminNetwork != "" {
		allow = p.Cluster.AdminNetwork
	}
	return "Order deny,allow\nDeny from all\nAllow from " + allow + "\n"
}

// RenderPiranhaPasswd is piranha-gui's password file (user piranha, the
// stored hash), or "" when the cluster has no GUI password.
func RenderPiranhaPasswd(p *Plan) string {
	if p.Cluster.GUIPasswordHash == "" {
		return ""
	}
	return "piranha:" + p.Cluster.GUIPasswordHash + "\n"
}

// UseKeepalived reports whether a director on OS major version major runs
// keepalived instead of piranha (piranha is gone from 7 on).
func UseKeepalived(major int) bool { return major >= 7 }

// DirectorFiles returns the files director (a hostname of p's directors)
// needs on an OS of major version major: lvs.cf, .htaccess and the GUI
// password for piranha (before 7), keepalived.conf from 7 on.
func DirectorFiles(p *Plan, director string, major int) ([]File, error) {
	if UseKeepalived(major) {
		k, err := RenderKeepalived(p, director)
		if err != nil {
			return nil, err
		}
		return []File{{Path: KeepalivedPath, Mode: "0640", Content: k}}, nil
	}
	if _, err := RenderKeepalived(p, director); err != nil { // same director check
		return nil, err
	}
	out := []File{
		{Path: PiranhaPath, Mode: "0644", Content: RenderPiranha(p)},
		{Path: HtaccessPath, Mode: "0644", Content: RenderHtaccess(p)},
	}
	if pw := RenderPiranhaPasswd(p); pw != "" {
		out = append(out, File{Path: PiranhaPasswdPath, Mode: "0600", Content: pw})
	}
	return out, nil
}
