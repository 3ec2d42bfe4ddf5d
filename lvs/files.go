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
// never answers ARP for the VIPs on its loopback (the "LVS ARP problem").
func ARPSysctls() []string {
	return []string{
		"net.ipv4.conf.lo.arp_ignore = 1",
		"net.ipv4.conf.lo.arp_announce = 2",
		"net.ipv4.conf.all.arp_ignore = 1",
		"net.ipv4.conf.all.arp_announce = 2",
	}
}

// RealServerFiles returns one ifcfg-lo:N file per VIP (DEVICE, IPADDR,
// NETMASK 255.255.255.255, ONBOOT=yes). Get vips from RealServerVIPs.
func RealServerFiles(vips []VIP) []File {
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
